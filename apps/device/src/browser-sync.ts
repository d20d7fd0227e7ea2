import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Message, PeerId } from '@automerge/automerge-repo/slim'
import {
  DROP,
  GuardedSyncServer,
  PASS,
  PeerMismatchError,
  type Admission,
  type SyncMessage,
  type SyncServerPolicy,
} from '@clinic-mesh/sync-server'
import type { Principal } from './auth.js'
import { UnauthenticatedError } from './errors.js'
import { log } from './log.js'
import type { SyncGate } from './sync-gate.js'

/** A browser's repo peer id (apps/web `tabPeerId`): never a device's or the relay's id. */
const BROWSER_PEER = /^web-[A-Za-z0-9_-]{1,64}$/

export interface BrowserSyncHost {
  /** The session behind the socket's upgrade request, re-checked on every message (a logout or disabling ends it). */
  principal: (req: IncomingMessage) => Principal | undefined
  /** Resolves once the clinic is open and the gate exists. */
  gate: () => Promise<SyncGate>
}

/** A browser's socket: its upgrade request (the session) and the chart buckets already audited as delivered to it. */
export interface BrowserSocket {
  readonly req: IncomingMessage
  readonly delivered: Set<string>
}

/**
 * The `/sync` endpoint for the tablet's browser: the guarded server adapter of `@clinic-mesh/sync-server` (envelope
 * check, one peer per socket, per-socket order) with the node's policy. A browser joins only as `web-<id>`; every
 * message needs the session still signed in and passes the node's sync gate (reads scoped to the role, every write
 * checked field by field against the policy). A refused message never reaches the repo; the browser is told in an
 * ephemeral message on that document, so it can show the user what was not saved. Outgoing messages pass the same
 * read policy.
 *
 * The adapter is ready from the start (the stock one waits for a first browser, and the Repo holds every document
 * lookup until all adapters are ready: a device node with no browser attached would never fetch its clinic).
 */
export class BrowserSync implements SyncServerPolicy<BrowserSocket> {
  readonly adapter: GuardedSyncServer<BrowserSocket>
  readonly #host: BrowserSyncHost
  /** Set once the gate exists (outgoing messages before that carry no document a browser could ask for). */
  #gate: SyncGate | undefined

  constructor(host: BrowserSyncHost) {
    this.#host = host
    this.adapter = new GuardedSyncServer<BrowserSocket>({ policy: this, log, readyWithoutPeers: true })
  }

  /** Completes an upgrade the node has checked (origin, a signed-in session). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.adapter.upgrade(req, socket, head, { req, delivered: new Set() })
  }

  attach(gate: SyncGate): void {
    this.#gate = gate
  }

  /** Ends every browser socket and refuses later upgrades. */
  close(): void {
    this.adapter.close()
  }

  /** The signed-in user behind a browser peer, if it is connected here and still signed in. */
  principalOf(peerId: string): Principal | undefined {
    const socket = this.adapter.contextOf(peerId)
    return socket ? this.#host.principal(socket.req) : undefined
  }

  join(peerId: PeerId): void {
    if (!BROWSER_PEER.test(peerId)) throw new PeerMismatchError('a browser joins as web-<id>')
  }

  async admit(m: SyncMessage, socket: BrowserSocket): Promise<Admission> {
    const p = this.#host.principal(socket.req)
    if (!p) return { verdict: 'close', error: new UnauthenticatedError('the session ended: sign in again') }
    let verdict: Awaited<ReturnType<SyncGate['check']>>
    try {
      verdict = await (await this.#host.gate()).check(p, m)
    } catch (err) {
      log('sync-gate-failed', {
        error: err instanceof Error ? err.name : 'unknown',
        message: err instanceof Error ? err.message : '',
      })
      return DROP
    }
    if (verdict.pass) return PASS
    const { error } = verdict
    const read = error.name === 'ForbiddenReadError'
    log(read ? 'sync-read-refused' : 'sync-write-refused', {
      user: p.user,
      role: p.role,
      doc: m.documentId ?? null,
      type: m.type,
      message: error.message,
    })
    return read
      ? { verdict: 'unavailable', error }
      : { verdict: 'refuse', error, writes: verdict.writes ?? [] }
  }

  /**
   * Outgoing: a browser receives only what its role may read; the first delivery of a chart bucket is audited. A
   * socket whose session ended (a logout, "Switch user") is closed: the page reconnects under its current session.
   */
  deliver(message: Message, socket: BrowserSocket): boolean | Error {
    const documentId = (message as { documentId?: string }).documentId
    if (!documentId || message.type === 'doc-unavailable') return true
    const p = this.#host.principal(socket.req)
    if (!p) return new UnauthenticatedError('the session ended: sign in again')
    const gate = this.#gate
    if (!gate?.mayRead(p, documentId)) return false
    if (message.type === 'sync' && !socket.delivered.has(documentId)) {
      socket.delivered.add(documentId)
      gate.recordRead(p, documentId)
    }
    return true
  }
}
