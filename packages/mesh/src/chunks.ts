import { Uint8ArrayList } from 'uint8arraylist'
import { DEFAULT_MAX_MESSAGE_BYTES, FrameKind, MAX_VARINT_BYTES } from './constants.js'
import { MalformedFrameError, MessageTooLargeError } from './errors.js'
import { readVarint, varintLength, writeVarint } from './varint.js'

/**
 * `chunk` frames (wire 1.1): a frame payload above the frame cap travels as consecutive chunk frames, each
 * `0x04 ‖ varint(total) ‖ piece`, where `total` is the byte length of the whole payload being carried (a `message`
 * payload, kind byte included) and the pieces, in order, concatenate to it. Pure: knows nothing about streams.
 */

/** Splits `payload` into chunk frame payloads of at most `maxFrameBytes` each (at least two). */
export function chunkPayload(payload: Uint8Array, maxFrameBytes: number): Uint8Array[] {
  const total = payload.byteLength
  const head = 1 + varintLength(total)
  const room = maxFrameBytes - head
  if (room < 1) throw new RangeError(`a frame cap of ${maxFrameBytes} bytes leaves no room for a chunk`)
  const out: Uint8Array[] = []
  for (let at = 0; at < total; at += room) {
    const piece = payload.subarray(at, Math.min(total, at + room))
    const frame = new Uint8Array(head + piece.byteLength)
    frame[0] = FrameKind.chunk
    writeVarint(total, frame, 1)
    frame.set(piece, head)
    out.push(frame)
  }
  return out
}

/**
 * Reassembles chunk frames. `push` returns the whole payload once its last piece arrived, else undefined. Throws
 * MessageTooLargeError for a total above `maxMessageBytes` (checked on the first chunk, before any piece is kept),
 * MalformedFrameError for a bad header, an empty piece, a total that changes, or pieces that overrun the total.
 * Memory held is what arrived so far (never the announced total up front); `reset()` drops it.
 */
export class ChunkAssembler {
  readonly #max: number
  #parts = new Uint8ArrayList()
  #total = 0

  constructor(maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES) {
    this.#max = maxMessageBytes
  }

  /** true while a chunked payload is partly received */
  get pending(): boolean {
    return this.#total > 0
  }

  /** Bytes held for the payload being reassembled. */
  get buffered(): number {
    return this.#parts.byteLength
  }

  push(chunk: Uint8Array): Uint8Array | undefined {
    if (chunk[0] !== FrameKind.chunk) throw new MalformedFrameError('not a chunk frame')
    const r = readVarint((i) => chunk[i + 1] ?? 0, chunk.byteLength - 1, MAX_VARINT_BYTES)
    if (r.kind !== 'ok') throw new MalformedFrameError('chunk total is not a minimal varint of ≤ 5 bytes')
    const total = r.value
    const piece = chunk.subarray(1 + r.bytes)
    if (piece.byteLength === 0) throw new MalformedFrameError('empty chunk')
    if (this.#total === 0) {
      if (total > this.#max)
        throw new MessageTooLargeError(`chunked message of ${total} bytes exceeds ${this.#max}`)
      this.#total = total
    } else if (total !== this.#total) {
      throw new MalformedFrameError(`chunk announces ${total} bytes inside a message of ${this.#total}`)
    }
    if (this.#parts.byteLength + piece.byteLength > this.#total)
      throw new MalformedFrameError(`chunks overrun the announced ${this.#total} bytes`)
    this.#parts.append(piece)
    if (this.#parts.byteLength < this.#total) return undefined
    const whole = this.#parts.subarray()
    this.reset()
    return whole
  }

  reset(): void {
    this.#parts = new Uint8ArrayList()
    this.#total = 0
  }
}
