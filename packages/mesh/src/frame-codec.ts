import { Uint8ArrayList } from 'uint8arraylist'
import { DEFAULT_MAX_FRAME_BYTES, MAX_VARINT_BYTES } from './constants.js'
import { FrameTooLargeError, MalformedFrameError } from './errors.js'
import { readVarint, varintLength, writeVarint } from './varint.js'

/** frame = varint(length of payload) ‖ payload. Pure: knows nothing about streams. */
export function encodeFrame(payload: Uint8Array, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Uint8Array {
  if (payload.byteLength > maxFrameBytes) {
    throw new FrameTooLargeError(`outgoing frame of ${payload.byteLength} bytes exceeds ${maxFrameBytes}`)
  }
  const out = new Uint8Array(varintLength(payload.byteLength) + payload.byteLength)
  const at = writeVarint(payload.byteLength, out, 0)
  out.set(payload, at)
  return out
}

/**
 * Incremental frame decoder: feed it chunks as they arrive, get whole payloads back.
 * Throws FrameTooLargeError as soon as a length prefix above the limit is seen (before the body arrives),
 * MalformedFrameError for a length prefix that is not a minimal varint of at most 5 bytes.
 * After a throw the decoder is poisoned: the stream must be reset.
 */
export class FrameDecoder {
  readonly #buf = new Uint8ArrayList()
  readonly #max: number
  #failed: Error | undefined

  constructor(maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {
    this.#max = maxFrameBytes
  }

  /** Bytes held that do not yet form a whole frame. */
  get buffered(): number {
    return this.#buf.byteLength
  }

  push(chunk: Uint8Array | Uint8ArrayList): Uint8Array[] {
    if (this.#failed !== undefined) throw this.#failed
    this.#buf.append(chunk)
    const frames: Uint8Array[] = []
    try {
      for (;;) {
        const buf = this.#buf
        const r = readVarint((i) => buf.get(i), buf.byteLength, MAX_VARINT_BYTES)
        if (r.kind === 'incomplete') break
        if (r.kind === 'overlong')
          throw new MalformedFrameError('frame length prefix is not a minimal varint of ≤ 5 bytes')
        if (r.value > this.#max)
          throw new FrameTooLargeError(`incoming frame of ${r.value} bytes exceeds ${this.#max}`)
        if (buf.byteLength < r.bytes + r.value) break
        frames.push(buf.subarray(r.bytes, r.bytes + r.value))
        buf.consume(r.bytes + r.value)
      }
    } catch (err) {
      this.#failed =
        err instanceof Error ? err : new MalformedFrameError('frame decoding failed', { cause: err })
      this.#buf.consume(this.#buf.byteLength)
      throw this.#failed
    }
    return frames
  }
}
