import { decodeSyncMessage } from '@automerge/automerge'
import { cbor } from '@automerge/automerge-repo/slim'
import { WebSocketServerAdapter } from '@automerge/automerge-repo-network-websocket'
import { SYNC_REFUSED_CLOSE_CODE, checkSyncMessage } from '@clinic-mesh/mesh'
import type { WebSocket, WebSocketServer } from 'ws'
import { ForbiddenWriteError, PeerMismatchError } from './errors.js'
import type { Logger } from './logger.js'
import { stderrLogger } from './logger.js'

type Socket = Parameters<WebSocketServerAdapter['receiveMessage']>[1]

/** Sync messages carry Automerge sync data (heads, bloom filters and possibly changes). */
const SYNC_TYPES = new Set(['sync', 'request'])

/** The number of Automerge changes a sync message carries for `documentId`, if it is a sync message for one. */
function changesFor(messageBytes: Uint8Array): { documentId: string; changes: number } | null {
  const m = cbor.decode<{ type?: string; documentId?: string; data?: Uint8Array }>(messageBytes)
  if (!SYNC_TYPES.has(m.type ?? '') || typeof m.documentId !== 'string' || !(m.data instanceof Uint8Array)) return null
  let changes: number
  try {
    changes = decodeSyncMessage(m.data).changes.length
  } catch {
    changes = 1 // undecodable sync data for a relay-only document is refused like a write
  }
  return { documentId: m.documentId, changes }
}

/**
 * The stock server adapter with every message checked first: a malformed one, one whose `senderId` is not the
 * peer that authenticated the socket, or one that carries changes to a document only the relay writes (settled
 * inventory, conflict queue) closes that socket (1008, named) and never reaches the repo.
 */
export class GuardedSyncAdapter extends WebSocketServerAdapter {
  readonly #log: Logger
  readonly #peers = new WeakMap<object, string>()
  readonly #relayOnly: (documentId: string) => boolean
  constructor(wss: WebSocketServer, logger: Logger = stderrLogger, relayOnly: (documentId: string) => boolean = () => false) {
    super(wss)
    this.#log = logger
    this.#relayOnly = relayOnly
    // a socket error (e.g. a frame announcing more than maxPayload: ws closes with 1009) ends that socket only
    wss.on('connection', (ws: WebSocket) => ws.on('error', (err: Error & { code?: string }) => logger('sync-socket-error', { error: err.name, code: err.code ?? null })))
  }

  /** The peer that proved its key when `socket` was opened (see Relay, upgrade). */
  bind(socket: object, peer: string): void {
    this.#peers.set(socket, peer)
  }

  override receiveMessage(messageBytes: Uint8Array, socket: Socket): void {
    try {
      const { senderId } = checkSyncMessage(messageBytes)
      const peer = this.#peers.get(socket)
      if (senderId !== peer) throw new PeerMismatchError(`socket authenticated as ${peer ?? 'nobody'} sent as ${senderId}`)
      const sync = changesFor(messageBytes)
      if (sync && sync.changes > 0 && this.#relayOnly(sync.documentId)) {
        throw new ForbiddenWriteError(`peer ${peer} sent ${sync.changes} change(s) to ${sync.documentId}, a document only the relay writes`)
      }
    } catch (err) {
      const name = err instanceof Error ? err.name : 'Error'
      this.#log('sync-message-refused', { error: name, message: err instanceof Error ? err.message : '', peer: this.#peers.get(socket) ?? null })
      socket.close(SYNC_REFUSED_CLOSE_CODE, `${name}: ${err instanceof Error ? err.message : ''}`.slice(0, 120))
      return
    }
    super.receiveMessage(messageBytes, socket)
  }
}
