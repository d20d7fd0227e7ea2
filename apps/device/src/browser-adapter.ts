import { WebSocketServerAdapter } from '@automerge/automerge-repo-network-websocket'
import type { WebSocketServer } from 'ws'
import { log } from './log.js'
import { SYNC_REFUSED_CLOSE_CODE, checkSyncMessage } from '@clinic-mesh/mesh'

type Socket = Parameters<WebSocketServerAdapter['receiveMessage']>[1]

/**
 * The `/sync` endpoint for the tablet's browser. The stock server adapter reports "ready" only once a first
 * browser has connected, and the Repo holds every document lookup until all adapters are ready: a device node
 * with no browser attached would never fetch its clinic from peers. A server has nobody to wait for. Every message
 * is checked first (`checkSyncMessage` of @clinic-mesh/mesh): a malformed one closes that socket with a named reason.
 */
export class BrowserSyncAdapter extends WebSocketServerAdapter {
  constructor(wss: WebSocketServer) {
    // ws's own types and the adapter's (isomorphic-ws) differ only nominally
    super(wss as unknown as ConstructorParameters<typeof WebSocketServerAdapter>[0])
    // a socket error (e.g. a frame announcing more than maxPayload: ws closes with 1009) is that socket's end,
    // not the process's: without a listener it would surface as an uncaught exception
    wss.on('connection', (ws) => ws.on('error', (err: Error & { code?: string }) => log('sync-socket-error', { error: err.name, code: err.code ?? null })))
  }

  /** Malformed messages close that socket with 1008 and `MalformedSyncMessageError: ...`; others go to the repo. */
  override receiveMessage(messageBytes: Uint8Array, socket: Socket): void {
    try {
      checkSyncMessage(messageBytes)
    } catch (err) {
      const name = err instanceof Error ? err.name : 'Error'
      log('sync-message-refused', { error: name, message: err instanceof Error ? err.message : '' })
      socket.close(SYNC_REFUSED_CLOSE_CODE, `${name}: ${err instanceof Error ? err.message : ''}`.slice(0, 120))
      return
    }
    super.receiveMessage(messageBytes, socket)
  }

  override isReady(): boolean {
    return true
  }

  override whenReady(): Promise<void> {
    return Promise.resolve()
  }
}
