import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeWire, encodeFrame, encodeWire, FrameDecoder, WIRE_VERSION } from '@clinic-mesh/mesh'
import type { WireFrame } from '@clinic-mesh/mesh'
import type { PeerId } from '@automerge/automerge-repo'

const seed = 20_240_601

function errorName(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    return (err as Error).name
  }
  return undefined
}

describe('frame codec', () => {
  it('round-trips any split of any sequence of payloads', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 400 }), { maxLength: 12 }),
        fc.array(fc.nat(50), { minLength: 1 }),
        (payloads, cuts) => {
          const wire = Buffer.concat(payloads.map((p) => encodeFrame(p)))
          const dec = new FrameDecoder(1024)
          const out: Uint8Array[] = []
          let at = 0
          for (let i = 0; at < wire.length; i++) {
            const step = Math.max(1, cuts[i % cuts.length]!)
            out.push(...dec.push(wire.subarray(at, at + step)))
            at += step
          }
          expect(out.map((u) => Buffer.from(u).toString('hex'))).toEqual(
            payloads.map((p) => Buffer.from(p).toString('hex')),
          )
          expect(dec.buffered).toBe(0)
        },
      ),
      { seed, numRuns: 200 },
    )
  })

  it('encodes the length as a minimal LEB128 varint', () => {
    expect([...encodeFrame(new Uint8Array(0))]).toEqual([0])
    expect([...encodeFrame(new Uint8Array(300)).subarray(0, 2)]).toEqual([0xac, 0x02])
  })

  it('rejects an announced length above the limit before the body arrives', () => {
    const dec = new FrameDecoder(1000)
    expect(errorName(() => dec.push(Uint8Array.of(0xe9, 0x07)))).toBe('FrameTooLargeError') // 1001
    expect(errorName(() => dec.push(Uint8Array.of(0)))).toBe('FrameTooLargeError') // poisoned afterwards
    expect(errorName(() => encodeFrame(new Uint8Array(11), 10))).toBe('FrameTooLargeError')
  })

  it('rejects over-long and non-minimal varints as malformed', () => {
    expect(errorName(() => new FrameDecoder().push(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x01)))).toBe(
      'MalformedFrameError',
    )
    expect(errorName(() => new FrameDecoder().push(Uint8Array.of(0x85, 0x00)))).toBe('MalformedFrameError')
  })
})

describe('wire payloads', () => {
  const alice = 'alice' as PeerId
  const bob = 'bob' as PeerId

  it('round-trips handshake, message and bye frames', () => {
    const frames: WireFrame[] = [
      {
        kind: 'handshake',
        handshake: {
          v: WIRE_VERSION,
          peerId: alice,
          peerMetadata: { isEphemeral: false },
          deviceName: 'Triage 2',
        },
      },
      {
        kind: 'message',
        message: {
          type: 'sync',
          senderId: alice,
          targetId: bob,
          documentId: 'doc1' as never,
          data: Uint8Array.of(1, 2, 3),
        },
      },
      { kind: 'bye', reason: 'shutdown' },
    ]
    for (const f of frames) expect(decodeWire(encodeWire(f))).toEqual(f)
    expect(encodeWire(frames[0]!)[0]).toBe(0x01)
    expect(encodeWire(frames[1]!)[0]).toBe(0x02)
  })

  it('names what is wrong with a bad payload', () => {
    expect(errorName(() => decodeWire(Uint8Array.of(0x07, 0xa0)))).toBe('MalformedFrameError') // unknown kind
    expect(errorName(() => decodeWire(Uint8Array.of(0x02, 0xff, 0xff)))).toBe('MalformedFrameError') // bad CBOR
    expect(errorName(() => decodeWire(Uint8Array.of(0x02)))).toBe('MalformedFrameError') // too short
    const v2 = encodeWire({
      kind: 'handshake',
      handshake: { v: 2, peerId: alice, peerMetadata: {}, deviceName: 'x' },
    })
    expect(errorName(() => decodeWire(v2))).toBe('HandshakeError')
    const noTarget = encodeWire({ kind: 'message', message: { type: 'sync', senderId: alice } as never })
    expect(errorName(() => decodeWire(noTarget))).toBe('MalformedFrameError')
  })
})
