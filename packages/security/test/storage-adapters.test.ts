import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import { EncryptedStorageAdapter } from '@clinic-mesh/security'
import { freshKeyring, tempDir } from './helpers.js'
import { runStorageAcceptanceSuite } from './storage-suite.js'

runStorageAcceptanceSuite('NodeFSStorageAdapter', async () => {
  const dir = await tempDir()
  return {
    adapter: new NodeFSStorageAdapter(dir.path),
    reopen: () => Promise.resolve(new NodeFSStorageAdapter(dir.path)),
    teardown: dir.remove,
  }
})

runStorageAcceptanceSuite('EncryptedStorageAdapter over NodeFSStorageAdapter', async () => {
  const dir = await tempDir()
  const keyring = await freshKeyring()
  return {
    adapter: new EncryptedStorageAdapter(new NodeFSStorageAdapter(dir.path), keyring),
    reopen: () => Promise.resolve(new EncryptedStorageAdapter(new NodeFSStorageAdapter(dir.path), keyring)),
    teardown: dir.remove,
  }
})
