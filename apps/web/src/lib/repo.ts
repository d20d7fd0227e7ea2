import { Repo } from '@automerge/automerge-repo'
import { WebSocketClientAdapter } from '@automerge/automerge-repo-network-websocket'
import { IndexedDBStorageAdapter } from '@automerge/automerge-repo-storage-indexeddb'

/** The device node this page came from: `ws(s)://<same host>/sync`. */
export function syncUrl(loc: Location = window.location): string {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/sync`
}

export interface BrowserRepo {
  repo: Repo
  network: WebSocketClientAdapter
}

/**
 * The browser's own automerge-repo: every change is saved to IndexedDB first and reaches the device node
 * whenever the socket is up (the adapter reconnects every second), so reading and drafting keep working
 * while the node restarts and catch up afterwards.
 */
export function createBrowserRepo(url = syncUrl()): BrowserRepo {
  const network = new WebSocketClientAdapter(url, 1000)
  const repo = new Repo({ storage: new IndexedDBStorageAdapter('clinic-mesh'), network: [network] })
  return { repo, network }
}
