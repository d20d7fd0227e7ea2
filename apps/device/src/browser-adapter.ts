import { WebSocketServerAdapter } from '@automerge/automerge-repo-network-websocket'
import type { WebSocketServer } from 'ws'

/**
 * The `/sync` endpoint for the tablet's browser. The stock server adapter reports "ready" only once a first
 * browser has connected, and the Repo holds every document lookup until all adapters are ready: a device node
 * with no browser attached would never fetch its clinic from peers. A server has nobody to wait for.
 */
export class BrowserSyncAdapter extends WebSocketServerAdapter {
  constructor(wss: WebSocketServer) {
    // ws's own types and the adapter's (isomorphic-ws) differ only nominally
    super(wss as unknown as ConstructorParameters<typeof WebSocketServerAdapter>[0])
  }

  override isReady(): boolean {
    return true
  }

  override whenReady(): Promise<void> {
    return Promise.resolve()
  }
}
