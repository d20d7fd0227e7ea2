import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import { runStorageAdapterTests } from '@automerge/automerge-repo/helpers/tests/storage-adapter-tests.js'
import { EncryptedStorageAdapter } from '@clinic-mesh/storage-encrypted'
import { MemoryStorage, runStorageExtraCases, tempDir } from '@clinic-mesh/testing'
import { freshKeyring } from './helpers.js'

// automerge-repo's own storage acceptance suite, unmodified, then the cases it leaves out (@clinic-mesh/testing).
// The device node's real stack (fault reporting over this over the atomic nodefs adapter) runs it in
// @clinic-mesh/storage-nodefs.

runStorageAdapterTests(
  async () => ({ adapter: new EncryptedStorageAdapter(new MemoryStorage(), await freshKeyring()) }),
  'EncryptedStorageAdapter over an in-memory adapter',
)

runStorageAdapterTests(async () => {
  const dir = await tempDir('clinic-mesh-storage-encrypted-')
  return {
    adapter: new EncryptedStorageAdapter(new NodeFSStorageAdapter(dir.path), await freshKeyring()),
    teardown: () => dir.remove(),
  }
}, 'EncryptedStorageAdapter over the stock NodeFSStorageAdapter')

runStorageExtraCases(
  'EncryptedStorageAdapter over an in-memory adapter',
  async () => {
    const inner = new MemoryStorage()
    const keyring = await freshKeyring()
    return {
      adapter: new EncryptedStorageAdapter(inner, keyring),
      reopen: () => Promise.resolve(new EncryptedStorageAdapter(inner, keyring)),
      teardown: () => Promise.resolve(),
    }
  },
  { keepsEmptyChunks: true },
)

runStorageExtraCases(
  'EncryptedStorageAdapter over the stock NodeFSStorageAdapter',
  async () => {
    const dir = await tempDir('clinic-mesh-storage-encrypted-')
    const keyring = await freshKeyring()
    return {
      adapter: new EncryptedStorageAdapter(new NodeFSStorageAdapter(dir.path), keyring),
      reopen: () => Promise.resolve(new EncryptedStorageAdapter(new NodeFSStorageAdapter(dir.path), keyring)),
      teardown: () => dir.remove(),
    }
  },
  { keepsEmptyChunks: true },
)
