import { runStorageAdapterTests } from '@automerge/automerge-repo/helpers/tests/storage-adapter-tests.js'
import { tempDir } from '@clinic-mesh/testing'
import { SyncStateWriteBehind } from '@clinic-mesh/store'
import { openDeviceStorage } from '../src/storage-at-rest.js'

// automerge-repo's own storage acceptance suite, unmodified, over the storage exactly as the device node opens it
// (key file, fault reporting over encryption over the atomic nodefs adapter; and the explicit plain opt-out).

runStorageAdapterTests(async () => {
  const dir = await tempDir('clinic-mesh-device-storage-')
  const { storage } = await openDeviceStorage(dir.path, { secret: 'unlock secret of the storage stack test' })
  return { adapter: storage, teardown: () => dir.remove() }
}, 'device node storage, encrypted (openDeviceStorage with a secret)')

runStorageAdapterTests(async () => {
  const dir = await tempDir('clinic-mesh-device-storage-')
  const { storage } = await openDeviceStorage(dir.path, { plain: true })
  return { adapter: storage, teardown: () => dir.remove() }
}, 'device node storage, --plain-storage')

runStorageAdapterTests(async () => {
  const dir = await tempDir('clinic-mesh-device-storage-')
  const { storage } = await openDeviceStorage(dir.path, { secret: 'unlock secret of the storage stack test' })
  // as the device node's repo has it: peers' sync states written behind (device-node.ts)
  return { adapter: new SyncStateWriteBehind(storage), teardown: () => dir.remove() }
}, "device node's repo storage: sync states written behind over the encrypted storage")
