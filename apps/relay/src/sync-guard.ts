import { WebSocketServerAdapter } from '@automerge/automerge-repo-network-websocket'
import { SYNC_REFUSED_CLOSE_CODE, checkSyncMessage } from '@clinic-mesh/mesh'
import type { WebSocket, WebSocketServer } from 'ws'
import type { Logger } from './logger.js'
import { stderrLogger } from './logger.js'

type Socket = Parameters<WebSocketServerAdapter['receiveMessage']>[1]

/** The stock server adapter with every message checked first: a malformed one closes that socket (1008, named). */
export class GuardedSyncAdapter extends WebSocketServerAdapter {
  readonly #log: Logger
  constructor(wss: WebSocketServer, logger: Logger = stderrLogger) {
    super(wss)
    this.#log = logger
    // a socket error (e.g. a frame announcing more than maxPayload: ws closes with 1009) ends that socket only
    wss.on('connection', (ws: WebSocket) => ws.on('error', (err: Error & { code?: string }) => logger('sync-socket-error', { error: err.name, code: err.code ?? null })))
  }

  override receiveMessage(messageBytes: Uint8Array, socket: Socket): void {
    try {
      checkSyncMessage(messageBytes)
    } catch (err) {
      const name = err instanceof Error ? err.name : 'Error'
      this.#log('sync-message-refused', { error: name, message: err instanceof Error ? err.message : '' })
      socket.close(SYNC_REFUSED_CLOSE_CODE, `${name}: ${err instanceof Error ? err.message : ''}`.slice(0, 120))
      return
    }
    super.receiveMessage(messageBytes, socket)
  }
}
