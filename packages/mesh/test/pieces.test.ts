import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { FrameKind, PieceAssembler, pieceId, piecePayload } from '@clinic-mesh/mesh'

const seed = 20_261_205

function errorName(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    return (err as Error).name
  }
  return undefined
}

describe('piece frames (wire 1.2)', () => {
  it('split at any size and reassembled in order give back the payload; no piece is above the size', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 5_000 }),
        fc.integer({ min: 40, max: 700 }),
        (p, size) => {
          const pieces = piecePayload(p, pieceId(p), size)
          for (const c of pieces) expect(c.byteLength).toBeLessThanOrEqual(size)
          expect(pieces.every((c) => c[0] === FrameKind.piece)).toBe(true)
          const asm = new PieceAssembler(10_000)
          const out = pieces.map((c) => asm.push(c))
          expect(out.slice(0, -1).every((o) => o === undefined)).toBe(true)
          expect(out.at(-1)).toEqual(p)
          expect(asm.pending).toBe(false)
          expect(asm.leftover()).toBeUndefined()
        },
      ),
      { seed, numRuns: 200 },
    )
  })

  it('a message cut after any piece resumes on the next stream from what arrived; nothing is sent twice', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 200, maxLength: 5_000 }),
        fc.integer({ min: 40, max: 300 }),
        fc.nat(),
        (p, size, k) => {
          const id = pieceId(p)
          const pieces = piecePayload(p, id, size)
          const cutAfter = 1 + (k % Math.max(1, pieces.length - 1))
          const first = new PieceAssembler(10_000)
          for (const c of pieces.slice(0, cutAfter)) first.push(c)
          const left = first.leftover()
          if (cutAfter >= pieces.length) return // it completed before the cut
          const held = left?.parts.byteLength ?? 0
          expect(held).toBeGreaterThan(0)
          // the next stream: the receiver announces {id, bytes}; the sender starts there
          const second = new PieceAssembler(10_000, left)
          const rest = piecePayload(p, id, size, held)
          const out = rest.map((c) => second.push(c))
          expect(out.at(-1)).toEqual(p)
          expect(second.resumedBytes).toBe(held)
          const sent = [...pieces.slice(0, cutAfter), ...rest].reduce((n, c) => n + c.byteLength, 0)
          expect(sent).toBeLessThan(p.byteLength + pieces.length * 2 * 30) // headers only on top
        },
      ),
      { seed, numRuns: 200 },
    )
  })

  it('a message sent again from the start (the sender regenerated other bytes) replaces the kept part', () => {
    const p = new Uint8Array(1_000).fill(3)
    const q = new Uint8Array(1_000).fill(4)
    const first = new PieceAssembler(10_000)
    first.push(piecePayload(p, pieceId(p), 300)[0]!)
    const second = new PieceAssembler(10_000, first.leftover())
    const out = piecePayload(q, pieceId(q), 300).map((c) => second.push(c))
    expect(out.at(-1)).toEqual(q)
    expect(second.leftover()?.id).toEqual(pieceId(p)) // unused: still kept for a later stream
    expect(second.resumedBytes).toBe(0)
  })

  it('a resume offset nobody announced, a gap, another message mid-way, a wrong id or a total over the limit is refused', () => {
    const p = new Uint8Array(1_000).map((_, i) => i % 251)
    const id = pieceId(p)
    const pieces = piecePayload(p, id, 300)
    const other = piecePayload(p.slice(1), pieceId(p.slice(1)), 300)
    const forged = piecePayload(p, pieceId(new Uint8Array(3)), 300)
    const cases: Array<[string, Uint8Array[], string]> = [
      ['offset without resume', [piecePayload(p, id, 300, 500)[0]!], 'MalformedFrameError'],
      ['gap', [pieces[0]!, pieces[2]!], 'MalformedFrameError'],
      ['another message mid-way', [pieces[0]!, other[1]!], 'MalformedFrameError'],
      ['payload does not match its id', forged, 'MalformedFrameError'],
      ['not a piece', [Uint8Array.of(FrameKind.chunk, 5, 1, 2, 3)], 'MalformedFrameError'],
    ]
    for (const [what, frames, name] of cases) {
      const asm = new PieceAssembler(10_000)
      const last = frames.length - 1
      frames.slice(0, last).forEach((f) => expect(asm.push(f), what).toBeUndefined())
      expect(
        errorName(() => asm.push(frames[last]!)),
        what,
      ).toBe(name)
    }
    expect(errorName(() => new PieceAssembler(999).push(pieces[0]!))).toBe('MessageTooLargeError')
  })
})
