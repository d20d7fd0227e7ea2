import { randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import {
  NetworkAdapter,
  cbor,
  type Message,
  type PeerId,
  type PeerMetadata,
} from '@automerge/automerge-repo/slim'
import {
  ProtocolV1,
  type FromServerMessage,
  type JoinMessage,
} from '@automerge/automerge-repo-network-websocket'
import { WebSocket, WebSocketServer, type RawData } from 'ws'
import type { RefusalMessage } from '@clinic-mesh/contracts'
import { closeReason } from './close-reason.js'
import {
  DEFAULT_KEEPALIVE_MS,
  DEFAULT_MAX_PAYLOAD,
  NOT_SERVING_CLOSE_CODE,
  PROTOCOL_ERROR_CLOSE_CODE,
  RECONNECT_CLOSE_CODE,
  REFUSAL_TYPE,
  SYNC_REFUSED_CLOSE_CODE,
} from './constants.js'
import { MalformedSyncMessageError, PeerMismatchError } from './errors.js'
import type { Admission, SyncServerPolicy } from './policy.js'
import { checkSyncMessage, type SyncMessage } from './sync-message.js'

/** Operational log: an event name and ids, counts and error names only. */
export type SyncServerLog = (event: string, fields: Record<string, string | number | boolean | null>) => void

export interface GuardedSyncServerInit<C> {
  readonly policy: SyncServerPolicy<C>
  readonly log?: SyncServerLog
  /** Largest frame accepted (default 64 MiB); a bigger one closes its socket `1009`. */
  readonly maxPayload?: number
  /** Ping interval; a socket silent for a whole interval is terminated (default 5 s). */
  readonly keepAliveMs?: number
  /**
   * Ready from the start (a server has nobody to wait for: a device node with no browser attached must still fetch
   * its documents from other peers). Default false: ready once a first socket arrives, like the stock adapter.
   */
  readonly readyWithoutPeers?: boolean
}

/** One socket: what its upgrade established, the peer it joined as, its queue of messages in arrival order. */
interface Connection<C> {
  readonly ws: WebSocket
  readonly context: C
  peer: PeerId | undefined
  queue: Promise<void>
  alive: boolean
  /** A frame of this socket was refused: nothing after it is read. */
  stopped: boolean
  /** The refusal was carried out (in order: messages before the refused one were handled first). */
  refused: boolean
}

/**
 * The automerge-repo WebSocket server adapter of every clinic-mesh `/sync` endpoint (the device node's, for its
 * browsers; the relay's, for devices), speaking the stock client's protocol (`join` → `peer`, CBOR frames). Every
 * frame passes, in order per socket: the envelope check (a malformed one closes the socket `1008` with a named
 * reason), the socket's identity (it speaks only as the peer it joined as, and joins only as the policy allows),
 * then the policy's admission; outgoing messages pass the policy's `deliver`. The application authenticates the
 * upgrade and hands the adapter the socket with what it learned (`upgrade`).
 */
export class GuardedSyncServer<C> extends NetworkAdapter {
  readonly #wss: WebSocketServer
  readonly #policy: SyncServerPolicy<C>
  readonly #log: SyncServerLog
  readonly #keepAliveMs: number
  readonly #connections = new Map<WebSocket, Connection<C>>()
  readonly #peers = new Map<PeerId, Connection<C>>()
  /** Ephemeral messages this adapter originates (refusals) carry a session id and a count, like a repo's. */
  readonly #session = `server-${randomBytes(6).toString('hex')}`
  #count = 0
  #serving = false
  #keepAlive: NodeJS.Timeout | undefined
  #ready = false
  #markReady: () => void = () => undefined
  readonly #whenReady = new Promise<void>((resolve) => {
    this.#markReady = () => {
      this.#ready = true
      resolve()
    }
  })

  constructor(init: GuardedSyncServerInit<C>) {
    super()
    this.#policy = init.policy
    this.#log = init.log ?? (() => undefined)
    this.#keepAliveMs = init.keepAliveMs ?? DEFAULT_KEEPALIVE_MS
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: init.maxPayload ?? DEFAULT_MAX_PAYLOAD })
    if (init.readyWithoutPeers) this.#markReady()
  }

  isReady(): boolean {
    return this.#ready
  }

  whenReady(): Promise<void> {
    return this.#whenReady
  }

  connect(peerId: PeerId, peerMetadata?: PeerMetadata): void {
    this.peerId = peerId
    this.peerMetadata = peerMetadata
    this.#serving = true
    if (!this.#keepAlive) {
      this.#keepAlive = setInterval(() => this.#ping(), this.#keepAliveMs)
      this.#keepAlive.unref()
    }
  }

  /** Ends every socket (their peers disconnect); sockets that arrive before the next `connect` are closed `1013`. */
  disconnect(): void {
    this.#serving = false
    clearInterval(this.#keepAlive)
    this.#keepAlive = undefined
    for (const conn of [...this.#connections.values()]) this.#terminate(conn)
  }

  /** Disconnects and refuses every later upgrade (503). */
  close(): void {
    this.disconnect()
    this.#wss.close()
  }

  /**
   * Completes an HTTP upgrade the application has authenticated (its `upgrade` event): `context` is what it
   * learned (a session, a peer) and goes with the socket to every policy call.
   */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, context: C): void {
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, context))
  }

  /** The context of the socket `peerId` joined on, while it is connected here. */
  contextOf(peerId: string): C | undefined {
    return this.#peers.get(peerId as PeerId)?.context
  }

  /** Closes the socket `peerId` joined on (1012, "service restart": reconnect), e.g. to send it elsewhere. */
  closePeer(peerId: string, reason: string): boolean {
    const conn = this.#peers.get(peerId as PeerId)
    if (!conn || conn.ws.readyState !== WebSocket.OPEN) return false
    conn.ws.close(RECONNECT_CLOSE_CODE, closeReason('Reconnect', reason))
    return true
  }

  send(message: Message): void {
    if ('data' in message && message.data?.byteLength === 0)
      throw new Error('Tried to send a zero-length message')
    const conn = this.#peers.get(message.targetId)
    if (!conn || conn.refused) return
    const verdict = this.#policy.deliver(message, conn.context)
    if (verdict instanceof Error) return this.#refuse(conn, verdict)
    if (verdict) this.#write(conn, message)
  }

  #accept(ws: WebSocket, context: C): void {
    // a socket error (e.g. a frame announcing more than maxPayload: ws closes 1009) ends that socket, not the process
    ws.on('error', (err: Error & { code?: string }) =>
      this.#log('sync-socket-error', { error: err.name, code: err.code ?? null }),
    )
    if (!this.#serving) {
      ws.close(NOT_SERVING_CLOSE_CODE, 'not serving: try again')
      return
    }
    const conn: Connection<C> = {
      ws,
      context,
      peer: undefined,
      queue: Promise.resolve(),
      alive: true,
      stopped: false,
      refused: false,
    }
    this.#connections.set(ws, conn)
    ws.on('close', () => this.#remove(conn))
    ws.on('pong', () => (conn.alive = true))
    ws.on('message', (data: RawData, isBinary: boolean) => this.#receive(conn, data, isBinary))
    if (!this.#ready) this.#markReady()
  }

  /** Every frame is handled in arrival order, after the previous one's admission; a refused frame is the last read. */
  #receive(conn: Connection<C>, data: RawData, isBinary: boolean): void {
    if (conn.stopped) return
    let handle: () => Promise<void> | void
    try {
      if (!isBinary) throw new MalformedSyncMessageError('a text frame: messages are binary CBOR')
      const m = checkSyncMessage(
        Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data,
      )
      handle = () => this.#handle(conn, m)
    } catch (err) {
      conn.stopped = true
      handle = () => this.#refuse(conn, err)
    }
    conn.queue = conn.queue.then(handle).catch((err: unknown) =>
      this.#log('sync-admit-failed', {
        error: err instanceof Error ? err.name : 'unknown',
        message: err instanceof Error ? err.message : '',
        peer: conn.peer ?? null,
      }),
    )
  }

  async #handle(conn: Connection<C>, m: SyncMessage): Promise<void> {
    if (conn.refused) return
    try {
      if (m.type === 'join') return this.#join(conn, m as unknown as JoinMessage)
      if (m.senderId !== conn.peer) {
        throw new PeerMismatchError(
          conn.peer === undefined
            ? `${m.senderId} sent ${m.type} before joining`
            : `the socket joined as ${conn.peer} and sent as ${m.senderId}`,
        )
      }
    } catch (err) {
      return this.#refuse(conn, err)
    }
    await this.#admit(conn, m)
  }

  /** The stock server's join, behind the policy: one peer per socket; a peer's newer socket replaces its older one. */
  #join(conn: Connection<C>, m: JoinMessage): void {
    this.#policy.join(m.senderId, conn.context)
    if (conn.peer !== undefined && conn.peer !== m.senderId)
      throw new PeerMismatchError(`the socket joined as ${conn.peer} and joins again as ${m.senderId}`)
    const versions = m.supportedProtocolVersions as readonly string[] | undefined
    if (versions !== undefined && !versions.includes(ProtocolV1)) {
      this.#write(conn, {
        type: 'error',
        senderId: this.peerId!,
        message: 'unsupported protocol version',
        targetId: m.senderId,
      })
      conn.ws.close(PROTOCOL_ERROR_CLOSE_CODE, 'unsupported protocol version')
      return
    }
    const existing = this.#peers.get(m.senderId)
    if (existing) {
      if (existing !== conn && existing.ws.readyState === WebSocket.OPEN) existing.ws.close()
      this.emit('peer-disconnected', { peerId: m.senderId })
    }
    conn.peer = m.senderId
    this.#peers.set(m.senderId, conn)
    this.emit('peer-candidate', { peerId: m.senderId, peerMetadata: m.peerMetadata ?? {} })
    this.#write(conn, {
      type: 'peer',
      senderId: this.peerId!,
      peerMetadata: this.peerMetadata ?? {},
      selectedProtocolVersion: ProtocolV1,
      targetId: m.senderId,
    })
  }

  async #admit(conn: Connection<C>, m: SyncMessage): Promise<void> {
    if (conn.refused || this.#peers.get(m.senderId) !== conn) return // a newer socket of that peer: the stock adapter drops it too
    const admission: Admission = await this.#policy.admit(m, conn.context)
    if (conn.refused || this.#peers.get(m.senderId) !== conn) return
    switch (admission.verdict) {
      case 'pass':
        this.emit('message', m as unknown as Message)
        return
      case 'drop':
        return
      case 'close':
        return this.#refuse(conn, admission.error)
      case 'unavailable':
        if (m.documentId)
          this.#write(conn, {
            type: 'doc-unavailable',
            senderId: this.peerId!,
            targetId: m.senderId,
            documentId: m.documentId,
          })
        return
      case 'refuse': {
        if (!m.documentId) return
        const { error, writes = [] } = admission
        const refusal: RefusalMessage = {
          type: REFUSAL_TYPE,
          name: error.name,
          message: error.message,
          writes: [...writes],
        }
        const data = cbor.encode(refusal)
        this.#write(conn, {
          type: 'ephemeral',
          senderId: this.peerId!,
          targetId: m.senderId,
          documentId: m.documentId,
          data,
          count: ++this.#count,
          sessionId: this.#session,
        } as Message)
      }
    }
  }

  /** Closes the socket `1008` with the error's name; nothing more of it is read. */
  #refuse(conn: Connection<C>, err: unknown): void {
    const name = err instanceof Error ? err.name : 'Error'
    const message = err instanceof Error ? err.message : ''
    conn.stopped = true
    conn.refused = true
    this.#log('sync-message-refused', {
      error: name,
      message,
      peer: conn.peer ?? this.#policy.peerOf?.(conn.context) ?? null,
    })
    conn.ws.close(SYNC_REFUSED_CLOSE_CODE, closeReason(name, message))
  }

  #write(conn: Connection<C>, message: FromServerMessage): void {
    if (conn.ws.readyState === WebSocket.OPEN) conn.ws.send(cbor.encode(message))
  }

  #ping(): void {
    for (const conn of [...this.#connections.values()]) {
      if (!conn.alive) {
        this.#terminate(conn)
        continue
      }
      conn.alive = false
      conn.ws.ping()
    }
  }

  #terminate(conn: Connection<C>): void {
    this.#remove(conn)
    conn.ws.terminate()
  }

  #remove(conn: Connection<C>): void {
    if (!this.#connections.delete(conn.ws)) return
    if (conn.peer !== undefined && this.#peers.get(conn.peer) === conn) {
      this.#peers.delete(conn.peer)
      this.emit('peer-disconnected', { peerId: conn.peer })
    }
  }
}
