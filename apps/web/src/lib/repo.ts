import { Repo, type PeerId } from '@automerge/automerge-repo'
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
  const repo = new Repo({ storage: new IndexedDBStorageAdapter('clinic-mesh'), network: [network], peerId: tabPeerId() })
  return { repo, network }
}

/**
 * A peer id that survives reloads of this tab (sessionStorage) but differs between tabs: the clinic root
 * records which peers hold every chart bucket, so a fresh id on every reload would grow it for nothing,
 * while two tabs sharing one id would knock each other off the device node's socket.
 */
function tabPeerId(): PeerId {
  const KEY = 'clinic-mesh.peer'
  let id = sessionStorage.getItem(KEY)
  if (!id) {
    id = `web-${crypto.randomUUID().slice(0, 8)}`
    sessionStorage.setItem(KEY, id)
  }
  return id as PeerId
}
