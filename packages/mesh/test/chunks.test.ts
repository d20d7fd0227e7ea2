import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ChunkAssembler, chunkPayload, FrameKind } from '@clinic-mesh/mesh'

const seed = 20_261_205

function errorName(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    return (err as Error).name
  }
  return undefined
}

/** A chunk frame payload by hand: 0x04, a one-byte total (< 128), the piece. */
const chunk = (total: number, piece: number[]): Uint8Array => Uint8Array.of(FrameKind.chunk, total, ...piece)

describe('chunk frames', () => {
  it('split at any cap and reassembled in order give back the payload; no chunk is above the cap', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 5_000 }),
        fc.integer({ min: 8, max: 700 }),
        (p, cap) => {
          const chunks = chunkPayload(p, cap)
          for (const c of chunks) expect(c.byteLength).toBeLessThanOrEqual(cap)
          const asm = new ChunkAssembler(10_000)
          const out = chunks.map((c) => asm.push(c))
          expect(out.slice(0, -1).every((o) => o === undefined)).toBe(true)
          expect(out.at(-1)).toEqual(p)
          expect(asm.pending).toBe(false)
          expect(asm.buffered).toBe(0)
        },
      ),
      { seed, numRuns: 200 },
    )
  })

  it('an announced total above the limit is refused on the first chunk, before any piece is kept', () => {
    const asm = new ChunkAssembler(100)
    const [first] = chunkPayload(new Uint8Array(101), 40)
    expect(errorName(() => asm.push(first!))).toBe('MessageTooLargeError')
    expect(asm.buffered).toBe(0)
    expect(asm.pending).toBe(false)
  })

  it('a total that changes, pieces that overrun it, an empty piece or a bad header are malformed', () => {
    const cases: Array<[string, Uint8Array[]]> = [
      ['total changes mid-message', [chunk(10, [1, 2, 3]), chunk(11, [4, 5, 6])]],
      ['pieces overrun the total', [chunk(5, [1, 2, 3]), chunk(5, [4, 5, 6])]],
      ['empty piece', [chunk(5, [])]],
      ['overlong total', [Uint8Array.of(FrameKind.chunk, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 9)]],
      ['not a chunk', [Uint8Array.of(FrameKind.message, 1, 2)]],
    ]
    for (const [what, frames] of cases) {
      const asm = new ChunkAssembler(1_000)
      const last = frames.length - 1
      frames.slice(0, last).forEach((f) => expect(asm.push(f), what).toBeUndefined())
      expect(
        errorName(() => asm.push(frames[last]!)),
        what,
      ).toBe('MalformedFrameError')
      asm.reset()
      expect(asm.buffered, what).toBe(0)
    }
  })

  it('holds only what arrived so far, and nothing after reset (an incomplete message is dropped with its session)', () => {
    const asm = new ChunkAssembler(1_000_000)
    const chunks = chunkPayload(new Uint8Array(900_000).fill(7), 100_000)
    for (const c of chunks.slice(0, 3)) asm.push(c)
    expect(asm.pending).toBe(true)
    expect(asm.buffered).toBeLessThan(300_000)
    asm.reset()
    expect(asm.buffered).toBe(0)
    expect(asm.pending).toBe(false)
  })
})
