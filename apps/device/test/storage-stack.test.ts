import { runStorageAdapterTests } from '@automerge/automerge-repo/helpers/tests/storage-adapter-tests.js'
import { tempDir } from '@clinic-mesh/testing'
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
