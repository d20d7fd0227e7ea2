import type { IncomingMessage } from 'node:http'
import { cbor, type Message, type PeerId } from '@automerge/automerge-repo/slim'
import { WebSocketServerAdapter } from '@automerge/automerge-repo-network-websocket'
import type { WebSocket, WebSocketServer } from 'ws'
import { log } from './log.js'
import { SYNC_REFUSED_CLOSE_CODE, checkSyncMessage } from '@clinic-mesh/mesh'
import type { Principal } from './auth.js'
import type { GateMessage, SyncGate } from './sync-gate.js'

type Socket = Parameters<WebSocketServerAdapter['receiveMessage']>[1]

/** A browser's repo peer id (apps/web `tabPeerId`): never a device's or the relay's id. */
const BROWSER_PEER = /^web-[A-Za-z0-9_-]{1,64}$/

/** The ephemeral message a browser receives for a refused write or read (apps/web listens for it). */
export const REFUSAL_TYPE = 'clinic-mesh/refused'

export interface BrowserSyncHost {
  /** The session behind the socket's upgrade request, re-checked on every message (a logout or disabling ends it). */
  principal: (req: IncomingMessage) => Principal | undefined
  /** Resolves once the clinic is open and the gate exists. */
  gate: () => Promise<SyncGate>
}

/**
 * The `/sync` endpoint for the tablet's browser. Every message passes, in order per socket: the envelope check
 * (`checkSyncMessage`: a malformed one closes that socket with a named reason), the session (still signed in), and
 * the node's sync gate (reads scoped to the role, every write checked field by field against the policy). A refused
 * message never reaches the repo; the browser is told in an ephemeral message on that document, so it can show the
 * user what was not saved. Outgoing messages pass the same read policy.
 *
 * The stock server adapter reports "ready" only once a first browser has connected, and the Repo holds every
 * document lookup until all adapters are ready: a device node with no browser attached would never fetch its clinic
 * from peers. A server has nobody to wait for.
 */
export class BrowserSyncAdapter extends WebSocketServerAdapter {
  readonly #host: BrowserSyncHost
  readonly #requests = new WeakMap<object, IncomingMessage>()
  readonly #queues = new WeakMap<object, Promise<void>>()
  /** Per socket: chart buckets already audited as delivered. */
  readonly #delivered = new WeakMap<object, Set<string>>()
  readonly #session = `node-${Math.random().toString(36).slice(2)}`
  #count = 0

  constructor(wss: WebSocketServer, host: BrowserSyncHost) {
    // ws's own types and the adapter's (isomorphic-ws) differ only nominally
    super(wss as unknown as ConstructorParameters<typeof WebSocketServerAdapter>[0])
    this.#host = host
    // a socket error (e.g. a frame announcing more than maxPayload: ws closes with 1009) is that socket's end,
    // not the process's: without a listener it would surface as an uncaught exception
    wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
      this.#requests.set(ws, req)
      ws.on('error', (err: Error & { code?: string }) => log('sync-socket-error', { error: err.name, code: err.code ?? null }))
    })
  }

  /** The signed-in user behind a browser peer, if it is connected here and still signed in. */
  principalOf(peerId: string): Principal | undefined {
    const socket = (this.sockets as Record<string, object | undefined>)[peerId]
    const req = socket ? this.#requests.get(socket) : undefined
    return req ? this.#host.principal(req) : undefined
  }

  override receiveMessage(messageBytes: Uint8Array, socket: Socket): void {
    let senderId: string
    try {
      senderId = checkSyncMessage(messageBytes).senderId
    } catch (err) {
      this.#close(socket, err instanceof Error ? err.name : 'Error', err instanceof Error ? err.message : '')
      return
    }
    const m = cbor.decode<GateMessage>(messageBytes)
    if (m.type === 'join') {
      if (!BROWSER_PEER.test(senderId)) return this.#close(socket, 'PeerMismatchError', 'a browser joins as web-<id>')
      return super.receiveMessage(messageBytes, socket)
    }
    const prev = this.#queues.get(socket) ?? Promise.resolve()
    const next = prev.then(() => this.#gated(messageBytes, m, socket)).catch((err: unknown) => log('sync-gate-failed', { error: err instanceof Error ? err.name : 'unknown', message: err instanceof Error ? err.message : '' }))
    this.#queues.set(socket, next)
  }

  async #gated(bytes: Uint8Array, m: GateMessage, socket: Socket): Promise<void> {
    if (this.sockets[m.senderId as PeerId] !== socket) return // not this socket's peer: the stock adapter drops it too
    const req = this.#requests.get(socket)
    const p = req ? this.#host.principal(req) : undefined
    if (!p) return this.#close(socket, 'UnauthenticatedError', 'the session ended: sign in again')
    const gate = await this.#host.gate()
    const verdict = await gate.check(p, m)
    if (verdict.pass) return super.receiveMessage(bytes, socket)
    const { error } = verdict
    log(error.name === 'ForbiddenReadError' ? 'sync-read-refused' : 'sync-write-refused', { user: p.user, role: p.role, doc: m.documentId ?? null, type: m.type, message: error.message })
    if (!m.documentId) return
    if (error.name === 'ForbiddenReadError') {
      super.send({ type: 'doc-unavailable', senderId: this.peerId as PeerId, targetId: m.senderId as PeerId, documentId: m.documentId } as Message)
      return
    }
    const data = cbor.encode({ type: REFUSAL_TYPE, name: error.name, message: error.message, writes: verdict.writes ?? [] })
    super.send({ type: 'ephemeral', senderId: this.peerId as PeerId, targetId: m.senderId as PeerId, documentId: m.documentId, data, count: ++this.#count, sessionId: this.#session } as unknown as Message)
  }

  /** Outgoing: a browser receives only what its role may read; the first delivery of a chart bucket is audited. */
  override send(message: Message): void {
    const documentId = (message as { documentId?: string }).documentId
    if (documentId && message.type !== 'doc-unavailable') {
      const p = this.principalOf(message.targetId)
      const gate = this.#ready
      if (!p || !gate?.mayRead(p, documentId)) return
      if (message.type === 'sync') {
        const socket = (this.sockets as Record<string, object | undefined>)[message.targetId]
        let seen = socket ? this.#delivered.get(socket) : undefined
        if (socket && !seen) this.#delivered.set(socket, (seen = new Set()))
        if (seen && !seen.has(documentId)) {
          seen.add(documentId)
          gate.recordRead(p, documentId)
        }
      }
    }
    super.send(message)
  }

  /** Set once the gate exists (outgoing messages before that carry no document a browser could ask for). */
  #ready: SyncGate | undefined
  attach(gate: SyncGate): void {
    this.#ready = gate
  }

  #close(socket: Socket, name: string, message: string): void {
    log('sync-message-refused', { error: name, message })
    socket.close(SYNC_REFUSED_CLOSE_CODE, `${name}: ${message}`.slice(0, 120))
  }

  override isReady(): boolean {
    return true
  }

  override whenReady(): Promise<void> {
    return Promise.resolve()
  }
}
