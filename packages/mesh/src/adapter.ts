import { NetworkAdapter } from '@automerge/automerge-repo'
import type { Message, PeerId, PeerMetadata } from '@automerge/automerge-repo'
import type { Stream } from '@libp2p/interface'
import { WIRE_MINOR, WIRE_VERSION } from './constants.js'
import { MeshClosedError } from './errors.js'
import { Session } from './session.js'
import type { SendQueueStats } from './send-queue-stats.js'
import type { Handshake } from './wire.js'
import type { PartialMessage } from './pieces.js'

/** One message through the mesh, for counters and debugging: its automerge-repo type and size on the wire. */
export interface TrafficEvent {
  direction: 'in' | 'out'
  /** libp2p peer id of the other device */
  remote: string
  type: Message['type']
  documentId: string | undefined
  /** bytes on the wire, frame headers and chunk frames included */
  bytes: number
  /** > 0: the message resumed at this offset, what a cut stream had carried of it was not sent again */
  resumedAt: number
}

/** Messages and bytes per direction and message type since the adapter was made. */
export type TrafficTotals = Record<'in' | 'out', Record<string, { messages: number; bytes: number }>>

export interface AdapterOptions {
  deviceName: string
  maxFrameBytes: number
  /** largest message reassembled from chunk frames (default 128 MiB) */
  maxMessageBytes?: number
  /** bound of each session's send queue in bytes (default 8 MiB) */
  maxQueueBytes?: number
  /** towards a 1.2 peer, messages above this go as resumable `piece` frames of this size (default 16 KiB) */
  pieceBytes?: number
  handshakeTimeoutMs?: number
  /**
   * the adapter reports ready once every peer connected at connect() has a session (or its stream ended), when
   * the first peer is announced if none was connected, or this long after connect() at the latest
   */
  readyAfterMs?: number
  /** the Repo called connect(): open sync streams to every connected peer; returns those peers (libp2p ids) */
  onConnect(): readonly string[] | void
  /** a session ended; `error` is set when the stream was reset */
  onSessionClosed(remote: string, error: Error | undefined): void
  /** a session's handshake completed */
  onSessionOpen(remote: string, handshake: Handshake): void
  /** every message sent (queued) or received, for debugging (counters are kept anyway: `traffic()`) */
  onTraffic?(event: TrafficEvent): void
  /** bytes arrived from a device's sync stream or handed to it (the node's keep-alive: LinkWatch) */
  onBytes?(remote: string, direction: 'in' | 'out', bytes: number): void
}

/**
 * automerge-repo NetworkAdapter over libp2p streams. One Session per remote device; exactly one
 * `peer-candidate` per remote repo peer while its session lives, then one `peer-disconnected`.
 * Link drops never emit `close` (that would detach the adapter from the Repo); only disconnect() does.
 */
export class MeshNetworkAdapter extends NetworkAdapter {
  readonly #opts: AdapterOptions
  readonly #sessions = new Map<string, Session>()
  readonly #announced = new Map<PeerId, Session>()
  #connected = false
  #ready = false
  #resolveReady: () => void = () => {}
  readonly #readyPromise = new Promise<void>((resolve) => (this.#resolveReady = resolve))
  #readyTimer: ReturnType<typeof setTimeout> | undefined
  /** Peers connected when the repo attached whose session has not opened yet: a find() waits for them. */
  readonly #expected = new Set<string>()
  readonly #traffic: TrafficTotals = { in: {}, out: {} }
  /**
   * Per remote device, what a closed stream had received of a message in pieces: the next stream with that device
   * announces it (`resume`) so the sender does not start it over. One per device: at most `maxMessageBytes` each.
   */
  readonly #partials = new Map<string, PartialMessage>()

  constructor(opts: AdapterOptions) {
    super()
    this.#opts = opts
  }

  isReady(): boolean {
    return this.#ready
  }

  whenReady(): Promise<void> {
    return this.#readyPromise
  }

  /** true between connect() and disconnect(): streams are accepted and opened */
  get active(): boolean {
    return this.#connected
  }

  connect(peerId: PeerId, peerMetadata?: PeerMetadata): void {
    this.peerId = peerId
    this.peerMetadata = peerMetadata ?? {}
    this.#connected = true
    clearTimeout(this.#readyTimer)
    this.#readyTimer = setTimeout(() => this.#markReady(), this.#opts.readyAfterMs ?? 500)
    this.#readyTimer.unref?.()
    this.#expected.clear()
    for (const remote of this.#opts.onConnect() ?? [])
      if (!this.#announcedRemote(remote)) this.#expected.add(remote)
  }

  send(message: Message): void {
    const session = this.#announced.get(message.targetId)
    if (session === undefined || session.closed) return // the peer left; automerge-repo resyncs on its return
    session.send(message)
  }

  disconnect(): void {
    if (!this.#connected) return
    this.#connected = false
    clearTimeout(this.#readyTimer)
    for (const session of [...this.#sessions.values()]) session.close('repo disconnected')
    this.#partials.clear()
    for (const peerId of [...this.#announced.keys()]) {
      this.#announced.delete(peerId)
      this.emit('peer-disconnected', { peerId })
    }
    this.#sessions.clear()
    this.emit('close')
  }

  hasSession(remote: string): boolean {
    return this.#sessions.has(remote)
  }

  /** Remote libp2p peers with a live session and their handshakes. */
  sessions(): Array<{ remote: string; handshake: Handshake | undefined }> {
    return [...this.#sessions.values()].map((s) => ({ remote: s.remote, handshake: s.handshake }))
  }

  /** Each live session's send queue (bounded: see Session). */
  sendQueues(): Array<{ remote: string } & SendQueueStats> {
    return [...this.#sessions.values()].map((s) => ({ remote: s.remote, ...s.sendQueue }))
  }

  /** Messages and bytes sent and received so far, per message type. */
  traffic(): TrafficTotals {
    return structuredClone(this.#traffic)
  }

  #count(
    session: Session,
    direction: 'in' | 'out',
    message: Message,
    bytes: number,
    resumedAt: number,
  ): void {
    const t = (this.#traffic[direction][message.type] ??= { messages: 0, bytes: 0 })
    t.messages++
    t.bytes += bytes
    this.#opts.onTraffic?.({
      direction,
      remote: session.remote,
      type: message.type,
      documentId: 'documentId' in message ? message.documentId : undefined,
      bytes,
      resumedAt,
    })
  }

  /** Takes a freshly opened sync stream (either direction) and runs the protocol on it. */
  attach(stream: Stream, remote: string): void {
    const { peerId } = this
    if (!this.#connected || peerId === undefined) {
      stream.abort(new MeshClosedError('sync adapter is not connected to a repo'))
      return
    }
    const resumable = this.#partials.get(remote)
    this.#partials.delete(remote) // the new session owns it now; it hands back what is left when it ends
    const local: Handshake = {
      v: WIRE_VERSION,
      peerId,
      peerMetadata: this.peerMetadata ?? {},
      deviceName: this.#opts.deviceName,
      minor: WIRE_MINOR,
      frameCap: this.#opts.maxFrameBytes,
      ...(resumable === undefined ? {} : { resume: { id: resumable.id, bytes: resumable.parts.byteLength } }),
    }
    const previous = this.#sessions.get(remote)
    const session = new Session({
      stream,
      remote,
      local,
      maxFrameBytes: this.#opts.maxFrameBytes,
      ...(this.#opts.maxMessageBytes === undefined ? {} : { maxMessageBytes: this.#opts.maxMessageBytes }),
      ...(this.#opts.maxQueueBytes === undefined ? {} : { maxQueueBytes: this.#opts.maxQueueBytes }),
      ...(this.#opts.pieceBytes === undefined ? {} : { pieceBytes: this.#opts.pieceBytes }),
      ...(resumable === undefined ? {} : { resumable }),
      handshakeTimeoutMs: this.#opts.handshakeTimeoutMs,
      hooks: {
        onDrained: (s) => this.#resync(s),
        onTraffic: (s, direction, message, bytes, at) => this.#count(s, direction, message, bytes, at),
        onBytes: (s, direction, bytes) => this.#opts.onBytes?.(s.remote, direction, bytes),
        onHandshake: (s, hs) => this.#onHandshake(s, hs),
        onMessage: (_s, message) => {
          if (message.targetId === this.peerId) this.emit('message', message)
        },
        onClose: (s, error) => this.#onClose(s, error),
      },
    })
    this.#sessions.set(remote, session)
    previous?.close('superseded by a newer stream')
  }

  /**
   * The session dropped messages while its queue was over the bound and has now drained: the repo forgets its sync
   * state with that peer and starts again (peer-disconnected, then peer-candidate at once), so it regenerates from
   * the documents whatever the peer still lacks. Automerge sync messages are incremental (a change offered once is
   * not offered again while the sync state lasts), which is why the dropped ones cannot just be skipped.
   */
  #resync(session: Session): void {
    const hs = session.handshake
    if (hs === undefined || session.closed || this.#announced.get(hs.peerId) !== session) return
    this.emit('peer-disconnected', { peerId: hs.peerId })
    this.emit('peer-candidate', { peerId: hs.peerId, peerMetadata: hs.peerMetadata })
  }

  /** Resets every session with this libp2p peer (used on revocation). */
  drop(remote: string, error: Error): void {
    for (const s of [...this.#sessions.values()]) if (s.remote === remote) s.abort(error)
  }

  #announcedRemote(remote: string): boolean {
    return [...this.#announced.values()].some((s) => s.remote === remote)
  }

  /** A peer expected at connect() has its session, or will not get one now: ready once none is left. */
  #settled(remote: string): void {
    if (this.#expected.delete(remote) && this.#expected.size === 0) this.#markReady()
  }

  #markReady(): void {
    if (this.#ready) return
    this.#ready = true
    this.#resolveReady()
  }

  #onHandshake(session: Session, hs: Handshake): void {
    if (this.#sessions.get(session.remote) !== session) {
      session.close('superseded by a newer stream')
      return
    }
    const previous = this.#announced.get(hs.peerId)
    this.#announced.set(hs.peerId, session)
    if (previous !== undefined && previous !== session) {
      previous.close('superseded by a newer stream')
      this.emit('peer-disconnected', { peerId: hs.peerId })
    }
    this.emit('peer-candidate', { peerId: hs.peerId, peerMetadata: hs.peerMetadata })
    if (this.#expected.size === 0) this.#markReady()
    else this.#settled(session.remote)
    this.#opts.onSessionOpen(session.remote, hs)
  }

  #onClose(session: Session, error: Error | undefined): void {
    const left = session.leftover
    if (left !== undefined && this.#connected) this.#partials.set(session.remote, left)
    if (this.#sessions.get(session.remote) === session) this.#sessions.delete(session.remote)
    const peerId = session.peerId
    if (peerId !== undefined && this.#announced.get(peerId) === session) {
      this.#announced.delete(peerId)
      this.emit('peer-disconnected', { peerId })
    }
    if (!this.#sessions.has(session.remote)) this.#settled(session.remote)
    this.#opts.onSessionClosed(session.remote, error)
  }
}
