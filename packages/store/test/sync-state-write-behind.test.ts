import { runStorageAdapterTests } from '@automerge/automerge-repo/helpers/tests/storage-adapter-tests.js'
import type { StorageKey } from '@automerge/automerge-repo'
import { MemoryStorage } from '@clinic-mesh/testing'
import { describe, expect, it } from 'vitest'
import { SyncStateWriteBehind } from '../src/sync-state-write-behind.js'

// Peers' sync states written behind: automerge-repo's storage suite, unmodified, sees no difference (its keys are
// mostly sync states), and the writes themselves are one per key and interval, the last one.

runStorageAdapterTests(
  () => Promise.resolve({ adapter: new SyncStateWriteBehind(new MemoryStorage()) }),
  'SyncStateWriteBehind over MemoryStorage',
)

/** Counts the sync-state writes reaching storage; a write can be held on `gate`, or made to fail. */
class Disk extends MemoryStorage {
  writes: StorageKey[] = []
  hold: Promise<void> | undefined
  fail = false
  override async save(key: StorageKey, data: Uint8Array): Promise<void> {
    if (this.hold) await this.hold
    if (this.fail) throw new Error('ENOSPC: no space left on device')
    this.writes.push(key)
    await super.save(key, data)
  }
}

const KEY = ['doc1', 'sync-state', 'peer-storage-1']
const bytes = (n: number): Uint8Array => new Uint8Array([n])

describe('sync states written behind', () => {
  it('writes the first save of a key at once, then the last of many once per interval; documents go through', async () => {
    const disk = new Disk()
    const s = new SyncStateWriteBehind(disk, 60_000)
    for (let i = 1; i <= 20; i++) await s.save(KEY, bytes(i))
    await s.save(['doc1', 'incremental', 'h1'], bytes(99))
    expect(disk.writes).toEqual([KEY, ['doc1', 'incremental', 'h1']])
    expect(await disk.load(KEY)).toEqual(bytes(1))
    expect(await s.load(KEY)).toEqual(bytes(20))
    await s.flush()
    expect(disk.writes).toEqual([KEY, ['doc1', 'incremental', 'h1'], KEY])
    expect(await disk.load(KEY)).toEqual(bytes(20))
    expect(s.writes).toBe(1)
  })

  it('is read while being written, and a removal waits for the write under way', async () => {
    const disk = new Disk()
    const s = new SyncStateWriteBehind(disk, 60_000)
    await s.save(KEY, bytes(0)) // written at once
    await s.save(KEY, bytes(1))
    let open!: () => void
    disk.hold = new Promise((r) => (open = r))
    const flushed = s.flush()
    expect(await s.load(KEY)).toEqual(bytes(1)) // taken for writing, not on disk yet
    const ranged = s.loadRange(['doc1']) // as storage orders the range: once written
    const removed = s.remove(KEY)
    open()
    expect((await ranged).map((c) => c.data)).toEqual([bytes(1)])
    await Promise.all([flushed, removed])
    expect(await s.load(KEY)).toBeUndefined()
    expect(await disk.load(KEY)).toBeUndefined()
  })

  it('counts a failed write instead of throwing it, and writes the key again at its next save', async () => {
    const disk = new Disk()
    const s = new SyncStateWriteBehind(disk, 60_000)
    await s.save(KEY, bytes(0)) // written at once
    await s.save(KEY, bytes(1))
    disk.fail = true
    await s.flush() // resolves: the repo does not await these saves
    expect(s.failures).toBe(1)
    disk.fail = false
    await s.save(KEY, bytes(2))
    await s.flush()
    expect(await disk.load(KEY)).toEqual(bytes(2))
  })

  it('writes on its own after the interval', async () => {
    const disk = new Disk()
    const s = new SyncStateWriteBehind(disk, 20)
    await s.save(KEY, bytes(6)) // written at once
    await s.save(KEY, bytes(7))
    expect(disk.writes).toHaveLength(1)
    await expect.poll(() => disk.writes.length, { timeout: 5_000 }).toBe(2)
    expect(await disk.load(KEY)).toEqual(bytes(7))
  })
})
