import type { Message, PeerId } from '@automerge/automerge-repo'
import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from './constants.js'
import { HandshakeError, MalformedFrameError, MeshClosedError } from './errors.js'
import { FrameDecoder, encodeFrame } from './frame-codec.js'
import { decodeWire, encodeWire } from './wire.js'
import type { Handshake, WireFrame } from './wire.js'

export interface SessionHooks {
  onHandshake(session: Session, handshake: Handshake): void
  onMessage(session: Session, message: Message): void
  /** Called exactly once. `error` is set when the stream was reset (by us or the remote). */
  onClose(session: Session, error: Error | undefined): void
}

export interface SessionInit {
  stream: Stream
  /** libp2p peer id (string) at the other end, authenticated by noise */
  remote: string
  /** our own handshake; the session sends it first */
  local: Handshake
  maxFrameBytes: number
  handshakeTimeoutMs?: number
  hooks: SessionHooks
}

/**
 * One sync stream between two devices: frames in, frames out, handshake first, backpressure on send.
 * Any decoding error resets the stream (stream.abort) with the named error; the session then closes.
 */
export class Session {
  readonly remote: string
  readonly stream: Stream
  handshake: Handshake | undefined
  readonly #decoder: FrameDecoder
  readonly #hooks: SessionHooks
  readonly #max: number
  readonly #queue: Uint8Array[] = []
  #pumping = false
  #closed = false
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor(init: SessionInit) {
    this.remote = init.remote
    this.stream = init.stream
    this.#hooks = init.hooks
    this.#max = init.maxFrameBytes
    this.#decoder = new FrameDecoder(init.maxFrameBytes)
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

  send(message: Message): void {
    this.#enqueue({ kind: 'message', message })
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
      // an outgoing message above the limit would be reset by the remote anyway: fail loudly here instead
      this.abort(err instanceof Error ? err : new MalformedFrameError('cannot encode frame', { cause: err }))
      return
    }
    this.#queue.push(bytes)
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
          this.#queue.length = 0 // the stream is closing: whatever is queued can no longer be delivered
          break
        }
        const next = this.#queue.shift()!
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
  }

  #onData(evt: StreamMessageEvent): void {
    if (this.#closed) return
    try {
      for (const payload of this.#decoder.push(evt.data)) {
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
    this.#queue.length = 0
    this.#hooks.onClose(this, error)
  }
}
