import type { Chunk, StorageAdapterInterface, StorageKey } from '@automerge/automerge-repo'
import {
  FaultReportingStorage,
  type StorageHealthEvent,
  StorageFullError,
  StorageUnavailableError,
  storageFault,
} from '@clinic-mesh/storage-nodefs'
import { MemoryStorage } from '@clinic-mesh/testing'
import { describe, expect, it } from 'vitest'

const errno = (code: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: simulated`), { code })
const KEY = ['3WkbkQ7EkwY1Qrx9dz4Xp6bZ6SRg', 'incremental', 'a']

/** An in-memory adapter whose writes fail with `failWith` while it is set. */
class FlakyDisk extends MemoryStorage {
  failWith: string | undefined
  override save(key: StorageKey, data: Uint8Array): Promise<void> {
    return this.failWith ? Promise.reject(errno(this.failWith)) : super.save(key, data)
  }
}

describe('storageFault', () => {
  it('names full and refusing disks, and passes any other error through', () => {
    expect(storageFault(errno('ENOSPC'), 'saving', true)).toBeInstanceOf(StorageFullError)
    expect(storageFault(errno('EDQUOT'), 'saving', true)).toMatchObject({ name: 'StorageFullError' })
    expect(storageFault(errno('EROFS'), 'saving', true)).toBeInstanceOf(StorageUnavailableError)
    expect(storageFault(errno('EIO'), 'reading')).toMatchObject({ name: 'StorageUnavailableError' })
    // ENOENT is a refused write (mkdir on a read-only file system), but a plain miss on a read
    expect(storageFault(errno('ENOENT'), 'saving', true)).toMatchObject({ name: 'StorageUnavailableError' })
    const miss = errno('ENOENT')
    expect(storageFault(miss, 'reading')).toBe(miss)
    const other = new TypeError('not a disk fault')
    expect(storageFault(other, 'saving', true)).toBe(other)
  })
})

describe('FaultReportingStorage', () => {
  it('reports each change of disk health once, and keeps the cause', async () => {
    const disk = new FlakyDisk()
    const events: StorageHealthEvent[] = []
    const storage = new FaultReportingStorage(disk, { onHealthChange: (e) => events.push(e) })
    await storage.save(KEY, new Uint8Array([1]))
    disk.failWith = 'ENOSPC'
    const err = await storage.save(KEY, new Uint8Array([2])).catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'StorageFullError', cause: { code: 'ENOSPC' } })
    await expect(storage.save(KEY, new Uint8Array([3]))).rejects.toMatchObject({ name: 'StorageFullError' })
    expect(storage.fault).toBe('StorageFullError')
    disk.failWith = 'EROFS'
    await expect(storage.save(KEY, new Uint8Array([4]))).rejects.toMatchObject({
      name: 'StorageUnavailableError',
    })
    expect(await storage.load(KEY)).toEqual(new Uint8Array([1])) // reads keep working; nothing stored is lost
    disk.failWith = undefined
    await storage.save(KEY, new Uint8Array([5]))
    await storage.save(KEY, new Uint8Array([6]))
    expect(storage.fault).toBeUndefined()
    expect(events).toEqual([
      { event: 'storage-fault', error: 'StorageFullError', code: 'ENOSPC' },
      { event: 'storage-fault', error: 'StorageUnavailableError', code: 'EROFS' },
      { event: 'storage-recovered', after: 'StorageUnavailableError' },
    ])
  })

  it('once sealed, nothing reaches the inner adapter', async () => {
    const touched: string[] = []
    const inner: StorageAdapterInterface = {
      load: (k: StorageKey) => (touched.push(`load ${k.join('/')}`), Promise.resolve(new Uint8Array([1]))),
      save: (k: StorageKey) => (touched.push(`save ${k.join('/')}`), Promise.resolve()),
      remove: (k: StorageKey) => (touched.push(`remove ${k.join('/')}`), Promise.resolve()),
      loadRange: (k: StorageKey) => (touched.push(`loadRange ${k.join('/')}`), Promise.resolve<Chunk[]>([])),
      removeRange: (k: StorageKey) => (touched.push(`removeRange ${k.join('/')}`), Promise.resolve()),
    }
    const storage = new FaultReportingStorage(inner)
    storage.seal()
    await storage.save(KEY, new Uint8Array([1]))
    await storage.remove(KEY)
    await storage.removeRange(KEY)
    expect(await storage.load(KEY)).toBeUndefined()
    expect(await storage.loadRange(KEY)).toEqual([])
    expect(touched).toEqual([])
  })
})
