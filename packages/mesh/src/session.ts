import type { Message, PeerId } from '@automerge/automerge-repo'
import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import { ChunkAssembler, chunkPayload } from './chunks.js'
import {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_QUEUE_BYTES,
  FrameKind,
} from './constants.js'
import { FrameTooLargeError, HandshakeError, MalformedFrameError, MeshClosedError } from './errors.js'
import { FrameDecoder, encodeFrame } from './frame-codec.js'
import { decodeWire, encodeWire } from './wire.js'
import type { Handshake, WireFrame } from './wire.js'

export interface SessionHooks {
  onHandshake(session: Session, handshake: Handshake): void
  onMessage(session: Session, message: Message): void
  /** Called exactly once. `error` is set when the stream was reset (by us or the remote). */
  onClose(session: Session, error: Error | undefined): void
  /** The send queue went over its bound: messages are dropped from now until it has drained. */
  onOverflow?(session: Session): void
  /** The send queue drained after an overflow: the messages dropped meanwhile must be regenerated (resync). */
  onDrained?(session: Session): void
}

/** What a session holds and has dropped on its send side (tests, status). */
export interface SendQueueStats {
  /** bytes of frames queued and not yet handed to the stream */
  queuedBytes: number
  /** the most `queuedBytes` ever was: at most max(bound, largestMessage) */
  peakQueuedBytes: number
  /** bytes of the largest message queued (all its frames) */
  largestMessage: number
  /** times the queue went over its bound */
  overflows: number
  /** messages dropped while over the bound */
  dropped: number
  /** true from an overflow until the queue drained */
  overflowed: boolean
}

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
  readonly #queue: Uint8Array[] = []
  #queuedBytes = 0
  #peakQueuedBytes = 0
  #largestMessage = 0
  #overflows = 0
  #dropped = 0
  #overflowed = false
  #pumping = false
  #closed = false
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor(init: SessionInit) {
    this.remote = init.remote
    this.stream = init.stream
    this.#hooks = init.hooks
    this.#max = init.maxFrameBytes
    this.#decoder = new FrameDecoder(init.maxFrameBytes)
    this.#maxQueue = init.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES
    this.#chunks = new ChunkAssembler(init.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES)
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
    }
  }

  /** Bytes held for a chunked message being received. */
  get reassemblyBytes(): number {
    return this.#chunks.buffered
  }

  send(message: Message): void {
    if (this.#closed) return
    if (this.#overflowed) {
      this.#dropped++
      return
    }
    let frames: Uint8Array[]
    try {
      frames = this.#frames(encodeWire({ kind: 'message', message }))
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
    for (const f of frames) this.#push(f)
    void this.#pump()
  }

  /** One frame, or chunk frames when the payload is above the cap (ours, or the peer's if smaller) and it reads them. */
  #frames(payload: Uint8Array): Uint8Array[] {
    const cap = Math.min(this.#max, this.handshake?.frameCap ?? this.#max)
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
    try {
      for (const raw of this.#decoder.push(evt.data)) {
        let payload: Uint8Array | undefined = raw
        if (raw[0] === FrameKind.chunk) {
          if (this.handshake === undefined)
            throw new HandshakeError('a chunk frame arrived before the handshake')
          payload = this.#chunks.push(raw)
          if (payload === undefined) continue
          if (payload[0] !== FrameKind.message)
            throw new MalformedFrameError('a chunked payload must be a message frame')
        } else if (this.#chunks.pending) {
          throw new MalformedFrameError('a frame arrived in the middle of a chunked message')
        }
        const frame = decodeWire(payload)
        if (frame.kind === 'handshake') {
          if (this.handshake !== undefined) throw new HandshakeError('second handshake on one stream')
          this.handshake = frame.handshake
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
    this.#hooks.onClose(this, error)
  }
}
