import type { Chunk, StorageAdapterInterface, StorageKey } from '@automerge/automerge-repo'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

/** What a storage adapter under test needs: a fresh adapter, a second one over the same storage, cleanup. */
export interface StorageFixture {
  readonly adapter: StorageAdapterInterface
  /** A new adapter instance over the same bytes (as after a restart). */
  reopen(): Promise<StorageAdapterInterface>
  teardown(): Promise<void>
}

/** Deterministic bytes (mulberry32), so a failure reproduces. */
export function seededBytes(length: number, seed: number): Uint8Array {
  let a = seed >>> 0
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    out[i] = (t ^ (t >>> 14)) & 0xff
  }
  return out
}

const A = (): Uint8Array => new Uint8Array([0, 1, 127, 99, 154, 235])
const B = (): Uint8Array => new Uint8Array([1, 76, 160, 53, 57, 10, 230])
const C = (): Uint8Array => new Uint8Array([2, 111, 74, 131, 236, 96, 142, 193])
const DOC_1 = '3WkbkQ7EkwY1Qrx9dz4Xp6bZ6SRg'
const DOC_2 = '4mHdzqSi2BycRY8uTYfvD1qJ9a7c'

/** Sorted by key, data as plain Uint8Array: adapters may list files in any order. */
function normalise(chunks: Chunk[]): { key: StorageKey; data: Uint8Array | undefined }[] {
  return chunks
    .map(({ key, data }) => ({ key: [...key], data: data === undefined ? undefined : new Uint8Array(data) }))
    .sort((x, y) => (x.key.join('/') < y.key.join('/') ? -1 : 1))
}

/**
 * The storage acceptance suite: every adapter (stock or wrapping) must pass it. Modelled on automerge-repo's own
 * storage adapter tests, plus persistence across a reopen and removal of missing keys.
 */
export function runStorageAcceptanceSuite(title: string, setup: () => Promise<StorageFixture>): void {
  describe(`storage acceptance: ${title}`, () => {
    let fx: StorageFixture
    let adapter: StorageAdapterInterface
    beforeEach(async () => {
      fx = await setup()
      adapter = fx.adapter
    })
    afterEach(async () => {
      await fx.teardown()
    })

    it('load of a missing key is undefined', async () => {
      expect(await adapter.load([DOC_1, 'sync-state', 'xxxxx'])).toBeUndefined()
      expect(await adapter.load(['storage-adapter-id'])).toBeUndefined()
    })

    it('returns what was saved, for single and composite keys', async () => {
      await adapter.save(['storage-adapter-id'], A())
      await adapter.save([DOC_1, 'sync-state', 'xxxxx'], B())
      expect(await adapter.load(['storage-adapter-id'])).toEqual(A())
      expect(await adapter.load([DOC_1, 'sync-state', 'xxxxx'])).toEqual(B())
    })

    it('round-trips a large payload and an empty one', async () => {
      const large = seededBytes(200_000, 7)
      await adapter.save([DOC_1, 'snapshot', 'big'], large)
      await adapter.save([DOC_1, 'snapshot', 'empty'], new Uint8Array())
      expect(await adapter.load([DOC_1, 'snapshot', 'big'])).toEqual(large)
      expect(await adapter.load([DOC_1, 'snapshot', 'empty'])).toEqual(new Uint8Array())
    })

    it('loadRange of an unknown prefix is empty', async () => {
      expect(await adapter.loadRange([DOC_1])).toEqual([])
    })

    it('loadRange returns exactly the keys under the prefix, at any depth', async () => {
      await adapter.save([DOC_1, 'sync-state', 'xxxxx'], A())
      await adapter.save([DOC_1, 'snapshot', 'yyyyy'], B())
      await adapter.save([DOC_1, 'sync-state', 'zzzzz'], C())
      await adapter.save([DOC_2, 'sync-state', 'xxxxx'], C())
      expect(normalise(await adapter.loadRange([DOC_1]))).toEqual([
        { key: [DOC_1, 'snapshot', 'yyyyy'], data: B() },
        { key: [DOC_1, 'sync-state', 'xxxxx'], data: A() },
        { key: [DOC_1, 'sync-state', 'zzzzz'], data: C() },
      ])
      expect(normalise(await adapter.loadRange([DOC_1, 'sync-state']))).toEqual([
        { key: [DOC_1, 'sync-state', 'xxxxx'], data: A() },
        { key: [DOC_1, 'sync-state', 'zzzzz'], data: C() },
      ])
    })

    it('a second save to the same key overwrites the first', async () => {
      await adapter.save([DOC_1, 'sync-state', 'xxxxx'], A())
      await adapter.save([DOC_1, 'sync-state', 'xxxxx'], B())
      expect(await adapter.load([DOC_1, 'sync-state', 'xxxxx'])).toEqual(B())
      expect(normalise(await adapter.loadRange([DOC_1, 'sync-state']))).toEqual([{ key: [DOC_1, 'sync-state', 'xxxxx'], data: B() }])
    })

    it('remove deletes one key; removing a missing key is not an error', async () => {
      await adapter.save([DOC_1, 'snapshot', 'xxxxx'], A())
      await adapter.save([DOC_1, 'snapshot', 'yyyyy'], B())
      await adapter.remove([DOC_1, 'snapshot', 'xxxxx'])
      await adapter.remove([DOC_1, 'snapshot', 'never-saved'])
      expect(await adapter.load([DOC_1, 'snapshot', 'xxxxx'])).toBeUndefined()
      expect(normalise(await adapter.loadRange([DOC_1]))).toEqual([{ key: [DOC_1, 'snapshot', 'yyyyy'], data: B() }])
    })

    it('removeRange deletes the prefix and nothing else', async () => {
      await adapter.save([DOC_1, 'sync-state', 'xxxxx'], A())
      await adapter.save([DOC_1, 'snapshot', 'yyyyy'], B())
      await adapter.save([DOC_1, 'sync-state', 'zzzzz'], C())
      await adapter.save([DOC_2, 'sync-state', 'zzzzz'], B())
      await adapter.removeRange([DOC_1, 'sync-state'])
      expect(normalise(await adapter.loadRange([DOC_1]))).toEqual([{ key: [DOC_1, 'snapshot', 'yyyyy'], data: B() }])
      await adapter.removeRange([DOC_1])
      expect(await adapter.loadRange([DOC_1])).toEqual([])
      expect(normalise(await adapter.loadRange([DOC_2]))).toEqual([{ key: [DOC_2, 'sync-state', 'zzzzz'], data: B() }])
    })

    it('data survives a reopen (a new adapter over the same storage)', async () => {
      await adapter.save([DOC_1, 'snapshot', 'yyyyy'], B())
      await adapter.save([DOC_1, 'incremental', 'zzzzz'], C())
      await adapter.remove([DOC_1, 'incremental', 'zzzzz'])
      const again = await fx.reopen()
      expect(await again.load([DOC_1, 'snapshot', 'yyyyy'])).toEqual(B())
      expect(await again.load([DOC_1, 'incremental', 'zzzzz'])).toBeUndefined()
      expect(normalise(await again.loadRange([DOC_1]))).toEqual([{ key: [DOC_1, 'snapshot', 'yyyyy'], data: B() }])
    })

  })
}
