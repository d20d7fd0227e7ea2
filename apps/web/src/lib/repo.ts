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
  /** Attaches the socket to the repo (once): the node only accepts a signed-in user's browser on /sync. */
  connect: () => void
}

/**
 * The browser's own automerge-repo: every change is saved to IndexedDB first and reaches the device node
 * whenever the socket is up (the adapter reconnects every second), so reading and drafting keep working
 * while the node restarts and catch up afterwards.
 */
export function createBrowserRepo(url = syncUrl()): BrowserRepo {
  const network = new WebSocketClientAdapter(url, 1000)
  const repo = new Repo({ storage: new IndexedDBStorageAdapter('clinic-mesh'), network: [], peerId: tabPeerId() })
  let connected = false
  const connect = (): void => {
    if (connected) return
    connected = true
    repo.networkSubsystem.addNetworkAdapter(network)
  }
  return { repo, network, connect }
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
