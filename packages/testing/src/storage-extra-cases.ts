import type { StorageAdapterInterface } from '@automerge/automerge-repo'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

/**
 * What the extra storage cases need: a fresh adapter, a second one over the same storage, cleanup. Run them beside
 * automerge-repo's own suite (`runStorageAdapterTests` from `@automerge/automerge-repo/helpers/tests/...`): they cover
 * only what that suite does not.
 */
export interface StorageFixture {
  readonly adapter: StorageAdapterInterface
  /** A new adapter instance over the same bytes (as after a restart). */
  reopen(): Promise<StorageAdapterInterface>
  teardown(): Promise<void>
}

export interface StorageExtraOptions {
  /**
   * Whether an empty chunk reads back as saved (true) or as absent (false: the atomic nodefs adapter treats an empty
   * file as a write cut short, since automerge-repo never stores an empty chunk).
   */
  readonly keepsEmptyChunks: boolean
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

/**
 * Storage cases automerge-repo's acceptance suite leaves out: an empty chunk, removing a key that was never saved,
 * a `removeRange` of a whole document, and persistence across a reopen (a new adapter over the same bytes).
 */
export function runStorageExtraCases(
  title: string,
  setup: () => Promise<StorageFixture>,
  options: StorageExtraOptions,
): void {
  describe(`storage extra cases: ${title}`, () => {
    let fx: StorageFixture
    let adapter: StorageAdapterInterface
    beforeEach(async () => {
      fx = await setup()
      adapter = fx.adapter
    })
    afterEach(async () => {
      await fx.teardown()
    })

    it(
      options.keepsEmptyChunks ? 'an empty chunk round-trips' : 'an empty chunk reads as absent',
      async () => {
        await adapter.save([DOC_1, 'snapshot', 'empty'], new Uint8Array())
        const expected = options.keepsEmptyChunks ? new Uint8Array() : undefined
        expect(await adapter.load([DOC_1, 'snapshot', 'empty'])).toEqual(expected)
        expect((await adapter.loadRange([DOC_1])).length).toBe(options.keepsEmptyChunks ? 1 : 0)
      },
    )

    it('removing a key that was never saved is not an error', async () => {
      await adapter.save([DOC_1, 'snapshot', 'yyyyy'], B())
      await adapter.remove([DOC_1, 'snapshot', 'never-saved'])
      expect(await adapter.loadRange([DOC_1])).toEqual([{ key: [DOC_1, 'snapshot', 'yyyyy'], data: B() }])
    })

    it('removeRange of a whole document leaves it empty', async () => {
      await adapter.save([DOC_1, 'sync-state', 'xxxxx'], A())
      await adapter.save([DOC_1, 'snapshot', 'yyyyy'], B())
      await adapter.removeRange([DOC_1])
      expect(await adapter.loadRange([DOC_1])).toEqual([])
      expect(await adapter.load([DOC_1, 'snapshot', 'yyyyy'])).toBeUndefined()
    })

    it('data survives a reopen (a new adapter over the same storage)', async () => {
      const large = seededBytes(200_000, 7)
      await adapter.save([DOC_1, 'snapshot', 'yyyyy'], large)
      await adapter.save([DOC_1, 'incremental', 'zzzzz'], C())
      await adapter.remove([DOC_1, 'incremental', 'zzzzz'])
      const again = await fx.reopen()
      expect(await again.load([DOC_1, 'snapshot', 'yyyyy'])).toEqual(large)
      expect(await again.load([DOC_1, 'incremental', 'zzzzz'])).toBeUndefined()
      expect(await again.loadRange([DOC_1])).toEqual([{ key: [DOC_1, 'snapshot', 'yyyyy'], data: large }])
    })
  })
}
