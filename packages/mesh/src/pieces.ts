import { createHash } from 'node:crypto'
import { Uint8ArrayList } from 'uint8arraylist'
import { DEFAULT_MAX_MESSAGE_BYTES, FrameKind, MAX_VARINT_BYTES } from './constants.js'
import { MalformedFrameError, MessageTooLargeError } from './errors.js'
import { readVarint, varintLength, writeVarint } from './varint.js'

/**
 * `piece` frames (wire 1.2): a `message` payload above the piece size travels as consecutive piece frames,
 * `0x05 ‖ id (16 bytes) ‖ varint(total) ‖ varint(offset) ‖ data`, where `id` is the first 16 bytes of the SHA-256 of
 * the whole payload, `total` its length and `offset` where `data` starts in it. A receiver keeps what arrived of a
 * message cut by a dropped link; the next stream's handshake says how much (`resume`), and when the sender's repo
 * sends the same message again (same bytes, same id) it starts at that offset. Pure: knows nothing about streams.
 */

export const PIECE_ID_BYTES = 16

/** What a receiver holds of a message: `bytes` received from its start. */
export interface ResumePoint {
  id: Uint8Array
  bytes: number
}

export function pieceId(payload: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(payload).digest().subarray(0, PIECE_ID_BYTES))
}

export function sameId(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i])
}

/**
 * Splits `payload` into piece frame payloads of at most `pieceBytes` each (the header included), from `offset`.
 * `id` is pieceId(payload) (the caller computed it to compare with a resume point).
 */
export function piecePayload(
  payload: Uint8Array,
  id: Uint8Array,
  pieceBytes: number,
  offset = 0,
): Uint8Array[] {
  const total = payload.byteLength
  const out: Uint8Array[] = []
  for (let at = offset; at < total;) {
    const head = 1 + PIECE_ID_BYTES + varintLength(total) + varintLength(at)
    const room = pieceBytes - head
    if (room < 1) throw new RangeError(`a piece size of ${pieceBytes} bytes leaves no room for data`)
    const data = payload.subarray(at, Math.min(total, at + room))
    const frame = new Uint8Array(head + data.byteLength)
    frame[0] = FrameKind.piece
    frame.set(id, 1)
    let o = writeVarint(total, frame, 1 + PIECE_ID_BYTES)
    o = writeVarint(at, frame, o)
    frame.set(data, o)
    out.push(frame)
    at += data.byteLength
  }
  return out
}

/** A message partly received: kept across streams with the same device so the next one can resume it. */
export interface PartialMessage {
  id: Uint8Array
  total: number
  parts: Uint8ArrayList
}

/**
 * Reassembles piece frames. `push` returns the whole payload once its last piece arrived, else undefined.
 * A message starts at offset 0, or at the end of `resumable` (what a previous stream left, announced in our
 * handshake) when the id matches. Throws MessageTooLargeError for a total above `maxMessageBytes`,
 * MalformedFrameError for a bad header, an empty piece, a piece of another message or at another offset than the
 * next byte expected, or a payload whose hash is not its id.
 */
export class PieceAssembler {
  readonly #max: number
  #current: PartialMessage | undefined
  /** the partial announced as `resume` in our handshake, until the sender resumes it or the stream ends */
  #resumable: PartialMessage | undefined
  /** bytes the sender skipped by resuming (figures) */
  resumedBytes = 0

  constructor(maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES, resumable?: PartialMessage) {
    this.#max = maxMessageBytes
    this.#resumable = resumable
  }

  /** true while a message is partly received */
  get pending(): boolean {
    return this.#current !== undefined
  }

  get buffered(): number {
    return (this.#current?.parts.byteLength ?? 0) + (this.#resumable?.parts.byteLength ?? 0)
  }

  push(frame: Uint8Array): Uint8Array | undefined {
    if (frame[0] !== FrameKind.piece) throw new MalformedFrameError('not a piece frame')
    if (frame.byteLength < 1 + PIECE_ID_BYTES + 2) throw new MalformedFrameError('piece frame too short')
    const id = frame.subarray(1, 1 + PIECE_ID_BYTES)
    let at = 1 + PIECE_ID_BYTES
    const varint = (): number => {
      const r = readVarint((i) => frame[at + i] ?? 0, frame.byteLength - at, MAX_VARINT_BYTES)
      if (r.kind !== 'ok') throw new MalformedFrameError('piece header is not minimal varints of ≤ 5 bytes')
      at += r.bytes
      return r.value
    }
    const total = varint()
    const offset = varint()
    const data = frame.subarray(at)
    if (data.byteLength === 0) throw new MalformedFrameError('empty piece')
    let cur = this.#current
    if (cur === undefined) {
      if (total > this.#max)
        throw new MessageTooLargeError(`message of ${total} bytes in pieces exceeds ${this.#max}`)
      const r = this.#resumable
      if (offset === 0) {
        cur = { id: new Uint8Array(id), total, parts: new Uint8ArrayList() }
        if (r !== undefined && sameId(r.id, id)) this.#resumable = undefined // sent again from the start
      } else if (r !== undefined && sameId(r.id, id) && r.total === total) {
        cur = r
        this.#resumable = undefined
        this.resumedBytes += offset
      } else throw new MalformedFrameError(`a message in pieces starts at ${offset}, not 0 or a resume point`)
      this.#current = cur
    } else if (!sameId(cur.id, id) || total !== cur.total) {
      throw new MalformedFrameError('a piece of another message in the middle of one')
    }
    if (offset !== cur.parts.byteLength)
      throw new MalformedFrameError(`piece at ${offset}, expected ${cur.parts.byteLength}`)
    if (offset + data.byteLength > cur.total)
      throw new MalformedFrameError(`pieces overrun the announced ${cur.total} bytes`)
    cur.parts.append(new Uint8Array(data))
    if (cur.parts.byteLength < cur.total) return undefined
    this.#current = undefined
    const whole = cur.parts.subarray()
    if (!sameId(pieceId(whole), cur.id))
      throw new MalformedFrameError('message in pieces does not match its id')
    return whole
  }

  /** What to keep for the next stream when this one ends: the message partly received, else the unused resume. */
  leftover(): PartialMessage | undefined {
    const cur = this.#current
    if (cur !== undefined && cur.parts.byteLength > 0) return cur
    return this.#resumable
  }

  reset(): void {
    this.#current = undefined
    this.#resumable = undefined
  }
}
