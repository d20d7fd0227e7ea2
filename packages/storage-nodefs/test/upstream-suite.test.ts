import { runStorageAdapterTests } from '@automerge/automerge-repo/helpers/tests/storage-adapter-tests.js'
import { Keyring, generateDataKey } from '@clinic-mesh/security'
import { EncryptedStorageAdapter } from '@clinic-mesh/storage-encrypted'
import { AtomicNodeFSStorageAdapter, FaultReportingStorage } from '@clinic-mesh/storage-nodefs'
import { runStorageExtraCases, tempDir } from '@clinic-mesh/testing'

// automerge-repo's own storage acceptance suite, unmodified, over each layer of the device node's storage and over
// the whole stack as apps/device's storage-at-rest.ts builds it; then the cases the suite leaves out.

const freshKeyring = async (): Promise<Keyring> => new Keyring((await generateDataKey(1)).dataKey)
const TEMP = 'clinic-mesh-storage-nodefs-'

runStorageAdapterTests(async () => {
  const dir = await tempDir(TEMP)
  return { adapter: new AtomicNodeFSStorageAdapter(dir.path), teardown: () => dir.remove() }
}, 'AtomicNodeFSStorageAdapter')

runStorageAdapterTests(async () => {
  const dir = await tempDir(TEMP)
  return {
    adapter: new FaultReportingStorage(new AtomicNodeFSStorageAdapter(dir.path)),
    teardown: () => dir.remove(),
  }
}, 'FaultReportingStorage over AtomicNodeFSStorageAdapter')

runStorageAdapterTests(async () => {
  const dir = await tempDir(TEMP)
  const adapter = new FaultReportingStorage(
    new EncryptedStorageAdapter(new AtomicNodeFSStorageAdapter(dir.path), await freshKeyring()),
  )
  return { adapter, teardown: () => dir.remove() }
}, "the device node's stack: FaultReportingStorage over EncryptedStorageAdapter over AtomicNodeFSStorageAdapter")

runStorageExtraCases(
  'AtomicNodeFSStorageAdapter',
  async () => {
    const dir = await tempDir(TEMP)
    return {
      adapter: new AtomicNodeFSStorageAdapter(dir.path),
      reopen: () => Promise.resolve(new AtomicNodeFSStorageAdapter(dir.path)),
      teardown: () => dir.remove(),
    }
  },
  { keepsEmptyChunks: false },
)

runStorageExtraCases(
  "the device node's stack",
  async () => {
    const dir = await tempDir(TEMP)
    const keyring = await freshKeyring()
    const stack = (): FaultReportingStorage =>
      new FaultReportingStorage(
        new EncryptedStorageAdapter(new AtomicNodeFSStorageAdapter(dir.path), keyring),
      )
    return { adapter: stack(), reopen: () => Promise.resolve(stack()), teardown: () => dir.remove() }
  },
  { keepsEmptyChunks: true },
)
