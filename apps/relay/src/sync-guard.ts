import { WebSocketServerAdapter } from '@automerge/automerge-repo-network-websocket'
import { SYNC_REFUSED_CLOSE_CODE, checkSyncMessage } from '@clinic-mesh/mesh'
import type { WebSocket, WebSocketServer } from 'ws'
import { PeerMismatchError } from './errors.js'
import type { Logger } from './logger.js'
import { stderrLogger } from './logger.js'

type Socket = Parameters<WebSocketServerAdapter['receiveMessage']>[1]

/**
 * The stock server adapter with every message checked first: a malformed one, or one whose `senderId` is not the
 * peer that authenticated the socket, closes that socket (1008, named).
 */
export class GuardedSyncAdapter extends WebSocketServerAdapter {
  readonly #log: Logger
  readonly #peers = new WeakMap<object, string>()
  constructor(wss: WebSocketServer, logger: Logger = stderrLogger) {
    super(wss)
    this.#log = logger
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
    } catch (err) {
      const name = err instanceof Error ? err.name : 'Error'
      this.#log('sync-message-refused', { error: name, message: err instanceof Error ? err.message : '' })
      socket.close(SYNC_REFUSED_CLOSE_CODE, `${name}: ${err instanceof Error ? err.message : ''}`.slice(0, 120))
      return
    }
    super.receiveMessage(messageBytes, socket)
  }
}
