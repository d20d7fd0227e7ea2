import type { Message, PeerId } from '@automerge/automerge-repo'
import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import { ChunkAssembler, chunkPayload } from './chunks.js'
import { PieceAssembler, pieceId, piecePayload, sameId } from './pieces.js'
import type { PartialMessage } from './pieces.js'
import {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_QUEUE_BYTES,
  DEFAULT_PIECE_BYTES,
  FrameKind,
} from './constants.js'
import { FrameTooLargeError, HandshakeError, MalformedFrameError, MeshClosedError } from './errors.js'
import { FrameDecoder, encodeFrame } from './frame-codec.js'
import { varintLength } from './varint.js'
import { decodeWire, encodeWire } from './wire.js'
import type { Handshake, WireFrame } from './wire.js'
import type { SendQueueStats } from './send-queue-stats.js'

export interface SessionHooks {
  onHandshake(session: Session, handshake: Handshake): void
  onMessage(session: Session, message: Message): void
  /** Called exactly once. `error` is set when the stream was reset (by us or the remote). */
  onClose(session: Session, error: Error | undefined): void
  /** The send queue went over its bound: messages are dropped from now until it has drained. */
  onOverflow?(session: Session): void
  /** The send queue drained after an overflow: the messages dropped meanwhile must be regenerated (resync). */
  onDrained?(session: Session): void
  /** A message was queued to send (`out`) or decoded (`in`); `bytes` is its size on the wire, frames included. */
  onTraffic?(
    session: Session,
    direction: 'in' | 'out',
    message: Message,
    bytes: number,
    resumedAt: number,
  ): void
  /** Bytes arrived from the stream (`in`, whole frames or not) or were handed to it (`out`): link liveness. */
  onBytes?(session: Session, direction: 'in' | 'out', bytes: number): void
}

/** How many large messages' ids a session remembers to drop exact duplicates (see Session #sentIds). */
const SENT_IDS_KEPT = 64

export interface SessionInit {
  stream: Stream
  /** libp2p peer id (string) at the other end, authenticated by noise */
  remote: string
  /** our own handshake; the session sends it first */
  local: Handshake
  maxFrameBytes: number
  /** largest message reassembled from chunk frames (default 128 MiB) */
  maxMessageBytes?: number
  /** bound of the send queue in bytes (default 8 MiB); a single message is always taken by an empty queue */
  maxQueueBytes?: number
  handshakeTimeoutMs?: number
  /** towards a 1.2 peer, messages above this go as resumable `piece` frames of this size (default 16 KiB) */
  pieceBytes?: number
  /** what a previous stream with this device left of a message in pieces; announced as `resume` in `local` */
  resumable?: PartialMessage
  hooks: SessionHooks
}

/**
 * One sync stream between two devices: frames in, frames out, handshake first, backpressure on send.
 * Any decoding error resets the stream (stream.abort) with the named error; the session then closes.
 *
 * The send queue is bounded (`maxQueueBytes`): a message that would take it over the bound is dropped, and so is
 * every message after it until the queue has drained; then `onDrained` asks the owner to have the repo resync with
 * this peer (the documents hold every change, so nothing dropped is lost). A message above the frame cap goes as
 * chunk frames when the peer's handshake says it reads them (wire 1.1).
 */
export class Session {
  readonly remote: string
  readonly stream: Stream
  handshake: Handshake | undefined
  readonly #decoder: FrameDecoder
  readonly #hooks: SessionHooks
  readonly #max: number
  readonly #maxQueue: number
  readonly #chunks: ChunkAssembler
  readonly #pieces: PieceAssembler
  readonly #pieceBytes: number
  #leftover: PartialMessage | undefined
  #resumedBytes = 0
  /**
   * Ids (SHA-256, hex) of the last large messages queued on this stream. automerge-repo may generate the very same
   * sync message twice for one peer: Automerge forgets what it sent whenever the peer's message says it has nothing
   * of the document yet (empty heads: "it may have lost its data, start over"), and a joining tablet sends two such
   * messages after a reconnect (its request, and its answer to our announce). On one stream the first copy is
   * delivered, in order, so the second is dropped here: a whole document is not sent twice over a slow link.
   */
  readonly #sentIds: string[] = []
  #duplicates = 0
  #duplicateBytes = 0
  /** offset of the message being sent now (set by #frames) */
  #sendAt = 0
  readonly #queue: Uint8Array[] = []
  #queuedBytes = 0
  #peakQueuedBytes = 0
  #largestMessage = 0
  #overflows = 0
  #dropped = 0
  #overflowed = false
  #pumping = false
  #closed = false
  /** wire bytes of the frames of the message being received (several when chunked) */
  #inBytes = 0
  /** where the message being received started: > 0 when it resumed one a previous stream left */
  #inAt = 0
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor(init: SessionInit) {
    this.remote = init.remote
    this.stream = init.stream
    this.#hooks = init.hooks
    this.#max = init.maxFrameBytes
    this.#decoder = new FrameDecoder(init.maxFrameBytes)
    this.#maxQueue = init.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES
    this.#chunks = new ChunkAssembler(init.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES)
    this.#pieces = new PieceAssembler(init.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES, init.resumable)
    this.#pieceBytes = init.pieceBytes ?? DEFAULT_PIECE_BYTES
    this.stream.addEventListener('message', (evt: StreamMessageEvent) => this.#onData(evt))
    this.stream.addEventListener('close', (evt: StreamCloseEvent) => this.#finish(evt.error), { once: true })
    this.stream.addEventListener('remoteCloseWrite', () => this.close('remote closed its side'), {
      once: true,
    })
    this.#timer = setTimeout(() => {
      if (this.handshake === undefined) this.abort(new HandshakeError('no handshake within timeout'))
    }, init.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS)
    this.#timer.unref?.()
    this.#enqueue({ kind: 'handshake', handshake: init.local })
  }

  get closed(): boolean {
    return this.#closed
  }

  /** automerge-repo peer id of the remote repo, once its handshake arrived */
  get peerId(): PeerId | undefined {
    return this.handshake?.peerId
  }

  get sendQueue(): SendQueueStats {
    return {
      queuedBytes: this.#queuedBytes,
      peakQueuedBytes: this.#peakQueuedBytes,
      largestMessage: this.#largestMessage,
      overflows: this.#overflows,
      dropped: this.#dropped,
      overflowed: this.#overflowed,
      resumedBytes: this.#resumedBytes,
      duplicates: this.#duplicates,
      duplicateBytes: this.#duplicateBytes,
    }
  }

  /** Once closed: what arrived of a message in pieces that did not complete (kept for the next stream). */
  get leftover(): PartialMessage | undefined {
    return this.#leftover
  }

  /** Bytes held for a chunked message being received. */
  get reassemblyBytes(): number {
    return this.#chunks.buffered + this.#pieces.buffered
  }

  send(message: Message): void {
    if (this.#closed) return
    if (this.#overflowed) {
      this.#dropped++
      return
    }
    let frames: Uint8Array[]
    let id: string | undefined
    try {
      const payload = encodeWire({ kind: 'message', message })
      const pid = payload.byteLength > this.#pieceBytes ? pieceId(payload) : undefined
      id = pid && Buffer.from(pid).toString('hex')
      if (id !== undefined && this.#sentIds.includes(id)) {
        // the very same bytes are already on this stream (see #sentIds): the peer gets them once
        this.#duplicates++
        this.#duplicateBytes += payload.byteLength
        return
      }
      frames = this.#frames(payload, pid)
    } catch (err) {
      // an outgoing message the peer cannot take would be reset by the remote anyway: fail loudly here instead
      this.abort(err instanceof Error ? err : new MalformedFrameError('cannot encode frame', { cause: err }))
      return
    }
    const size = frames.reduce((n, f) => n + f.byteLength, 0)
    if (this.#queuedBytes > 0 && this.#queuedBytes + size > this.#maxQueue) {
      this.#overflowed = true
      this.#overflows++
      this.#dropped++
      this.#hooks.onOverflow?.(this)
      return
    }
    if (size > this.#largestMessage) this.#largestMessage = size
    if (id !== undefined) {
      this.#sentIds.push(id)
      if (this.#sentIds.length > SENT_IDS_KEPT) this.#sentIds.shift()
    }
    this.#hooks.onTraffic?.(this, 'out', message, size, this.#sendAt)
    for (const f of frames) this.#push(f)
    void this.#pump()
  }

  /**
   * One frame; piece frames towards a 1.2 peer when the payload is above the piece size (from where the peer's
   * handshake says it stopped receiving this very message, if it did); chunk frames towards a 1.1 peer when it is
   * above the cap (ours, or the peer's if smaller).
   */
  #frames(payload: Uint8Array, pid: Uint8Array | undefined): Uint8Array[] {
    const cap = Math.min(this.#max, this.handshake?.frameCap ?? this.#max)
    this.#sendAt = 0
    if ((this.handshake?.minor ?? 0) >= 2 && payload.byteLength > Math.min(this.#pieceBytes, cap)) {
      const id = pid ?? pieceId(payload)
      const resume = this.handshake?.resume
      if (resume !== undefined && sameId(resume.id, id) && resume.bytes < payload.byteLength) {
        this.#sendAt = resume.bytes
        this.#resumedBytes += resume.bytes
        delete this.handshake?.resume // once
      }
      return piecePayload(payload, id, Math.min(this.#pieceBytes, cap), this.#sendAt).map((c) =>
        encodeFrame(c, cap),
      )
    }
    if (payload.byteLength <= cap) return [encodeFrame(payload, cap)]
    if ((this.handshake?.minor ?? 0) < 1)
      throw new FrameTooLargeError(
        `outgoing frame of ${payload.byteLength} bytes exceeds ${cap} and the peer does not read chunks`,
      )
    return chunkPayload(payload, cap).map((c) => encodeFrame(c, cap))
  }

  #push(frame: Uint8Array): void {
    this.#queue.push(frame)
    this.#queuedBytes += frame.byteLength
    if (this.#queuedBytes > this.#peakQueuedBytes) this.#peakQueuedBytes = this.#queuedBytes
  }

  /** Graceful close: says bye, flushes, closes our writable end. */
  close(reason: string): void {
    if (this.#closed || this.stream.writeStatus !== 'writable') return
    this.#enqueue({ kind: 'bye', reason })
    this.#afterFlush(() => {
      this.stream
        .close()
        .catch((err: unknown) => this.abort(err instanceof Error ? err : new MeshClosedError(String(err))))
    })
  }

  /** Resets the stream with a named error. */
  abort(error: Error): void {
    if (this.#closed) return
    this.stream.abort(error)
    this.#finish(error)
  }

  #enqueue(frame: WireFrame): void {
    if (this.#closed) return
    let bytes: Uint8Array
    try {
      bytes = encodeFrame(encodeWire(frame), this.#max)
    } catch (err) {
      this.abort(err instanceof Error ? err : new MalformedFrameError('cannot encode frame', { cause: err }))
      return
    }
    this.#push(bytes) // handshake and bye: outside the bound
    void this.#pump()
  }

  #flushWaiters: Array<() => void> = []
  #afterFlush(fn: () => void): void {
    if (!this.#pumping && this.#queue.length === 0) fn()
    else this.#flushWaiters.push(fn)
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return
    this.#pumping = true
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        if (this.stream.writeStatus !== 'writable') {
          this.#clearQueue() // the stream is closing: whatever is queued can no longer be delivered
          break
        }
        const next = this.#queue.shift()!
        this.#queuedBytes -= next.byteLength
        this.#hooks.onBytes?.(this, 'out', next.byteLength)
        if (!this.stream.send(next)) await this.stream.onDrain()
      }
    } catch (err) {
      // send/onDrain fail only when the stream closed or reset underneath us; the close event reports it
      if (this.stream.status === 'open')
        this.abort(err instanceof Error ? err : new MeshClosedError(String(err)))
    } finally {
      this.#pumping = false
    }
    const waiters = this.#flushWaiters
    this.#flushWaiters = []
    for (const w of waiters) w()
    if (this.#overflowed && this.#queue.length === 0 && !this.#closed) {
      this.#overflowed = false
      this.#hooks.onDrained?.(this)
    }
  }

  #clearQueue(): void {
    this.#queue.length = 0
    this.#queuedBytes = 0
  }

  #onData(evt: StreamMessageEvent): void {
    if (this.#closed) return
    this.#hooks.onBytes?.(this, 'in', evt.data.byteLength)
    try {
      for (const raw of this.#decoder.push(evt.data)) {
        let payload: Uint8Array | undefined = raw
        this.#inBytes += raw.byteLength + varintLength(raw.byteLength)
        if (raw[0] === FrameKind.piece) {
          if (this.handshake === undefined)
            throw new HandshakeError('a piece frame arrived before the handshake')
          if (this.#chunks.pending)
            throw new MalformedFrameError('a piece in the middle of a chunked message')
          if (!this.#pieces.pending) this.#inAt = this.#pieces.resumedBytes
          payload = this.#pieces.push(raw)
          if (payload === undefined) continue
          this.#inAt = this.#pieces.resumedBytes - this.#inAt
          if (payload[0] !== FrameKind.message)
            throw new MalformedFrameError('a payload in pieces must be a message frame')
        } else if (raw[0] === FrameKind.chunk) {
          if (this.handshake === undefined)
            throw new HandshakeError('a chunk frame arrived before the handshake')
          payload = this.#chunks.push(raw)
          if (payload === undefined) continue
          if (payload[0] !== FrameKind.message)
            throw new MalformedFrameError('a chunked payload must be a message frame')
        } else if (this.#chunks.pending || this.#pieces.pending) {
          throw new MalformedFrameError('a frame arrived in the middle of a chunked message')
        } else this.#inAt = 0
        const frame = decodeWire(payload)
        if (frame.kind === 'handshake') {
          if (this.handshake !== undefined) throw new HandshakeError('second handshake on one stream')
          this.handshake = frame.handshake
          this.#inBytes = 0
          clearTimeout(this.#timer)
          this.#hooks.onHandshake(this, frame.handshake)
        } else if (this.handshake === undefined) {
          throw new HandshakeError(`a ${frame.kind} frame arrived before the handshake`)
        } else if (frame.kind === 'message') {
          // automerge-repo forwards a document's ephemeral messages (presence) to its other peers with the
          // originator's senderId: a tablet between two rooms relays them. Nothing else may name another repo.
          if (frame.message.senderId !== this.handshake.peerId && frame.message.type !== 'ephemeral') {
            throw new MalformedFrameError('message senderId differs from the handshake peerId')
          }
          this.#hooks.onTraffic?.(this, 'in', frame.message, this.#inBytes, this.#inAt)
          this.#inBytes = 0
          this.#inAt = 0
          this.#hooks.onMessage(this, frame.message)
        } else {
          this.close(`bye received: ${frame.reason}`)
        }
        if (this.#closed) return
      }
    } catch (err) {
      this.abort(
        err instanceof Error ? err : new MalformedFrameError('frame handling failed', { cause: err }),
      )
    }
  }

  #finish(error: Error | undefined): void {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#timer)
    this.#clearQueue()
    this.#chunks.reset()
    this.#leftover = this.#pieces.leftover()
    this.#pieces.reset()
    this.#hooks.onClose(this, error)
  }
}
