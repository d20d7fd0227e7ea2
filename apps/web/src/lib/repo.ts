import { Repo, type PeerId } from '@automerge/automerge-repo'
import { WebSocketClientAdapter } from '@automerge/automerge-repo-network-websocket'
import { IndexedDBStorageAdapter } from '@automerge/automerge-repo-storage-indexeddb'
import { WebCryptoStorageAdapter, importStorageKey } from '@clinic-mesh/storage-webcrypto'
import { StorageKeyReplySchema } from '@clinic-mesh/contracts'
import { ApiError, api } from './api.js'
import { dropMarked } from './dropped-copies.js'

/** Every IndexedDB database of this app starts with it (the old unencrypted one was exactly `clinic-mesh`). */
const DB_PREFIX = 'clinic-mesh'
/** Raw browser-storage key kept for this tab's lifetime, so a reload while the node is down still opens the copy. */
const KEY_ITEM = 'clinic-mesh.storage-key'
/** localStorage / sessionStorage entries of the app (user, directory URL, outbox, refused writes, peer id, key...). */
const ITEM_PREFIX = 'clinic-mesh.'

/** The device node this page came from: `ws(s)://<same host>/sync`. */
export function syncUrl(loc: Location = window.location): string {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/sync`
}

/** The socket to the device node (reconnects every second once the repo has it). Nothing happens until `connect`. */
export function createNetwork(url = syncUrl()): WebSocketClientAdapter {
  return new WebSocketClientAdapter(url, 1000)
}

export interface BrowserRepo {
  repo: Repo
  network: WebSocketClientAdapter
  /** Attaches the socket to the repo (once): the node only accepts a signed-in user's browser on /sync. */
  connect: () => void
  /**
   * Drops the socket; the adapter reconnects within a second and the repo, meeting the node as a new peer, asks it
   * again for every document it still waits for (a request left unanswered or answered "unavailable" is not repeated
   * on the same connection).
   */
  resync: () => void
  /** Stops the repo and closes its IndexedDB connection (so the database can be deleted). */
  close: () => Promise<void>
}

/**
 * The browser's own automerge-repo: every change is saved to IndexedDB first and reaches the device node
 * whenever the socket is up, so reading and drafting keep working while the node restarts and catch up afterwards.
 * Every chunk is sealed with AES-256-GCM under the device node's browser-storage key (`rawKey`, handed to a signed-in
 * session: docs/THREAT_MODEL.md §7), so the IndexedDB files hold no patient data in clear. The database is named
 * after the key: a new key (the node's changed) starts an empty copy, and older copies are deleted.
 */
export async function openBrowserRepo(
  rawKey: Uint8Array,
  network: WebSocketClientAdapter,
): Promise<BrowserRepo> {
  const name = await databaseName(rawKey)
  void deleteDatabases((n) => n !== name) // an older copy (the clear one, another key's): the node has everything
  const idb = new IndexedDBStorageAdapter(name)
  const storage = new WebCryptoStorageAdapter(idb, await importStorageKey(rawKey))
  await dropMarked(storage) // a copy holding a refused change: fetched again from the node
  const repo = new Repo({ storage, network: [], peerId: tabPeerId() })
  let connected = false
  const connect = (): void => {
    if (connected) return
    connected = true
    repo.networkSubsystem.addNetworkAdapter(network)
  }
  const close = async (): Promise<void> => {
    await Promise.race([repo.shutdown().catch(() => undefined), new Promise((r) => setTimeout(r, 2000))])
    // the adapter has no close(): its connection promise is private in the types, public at runtime
    const db = (idb as unknown as { dbPromise: Promise<IDBDatabase> }).dbPromise
    ;(await db.catch(() => undefined))?.close()
  }
  const resync = (): void => {
    if (connected) network.socket?.close()
  }
  return { repo, network, connect, resync, close }
}

/**
 * The browser-storage key: this tab's copy (sessionStorage, survives reloads while the node is down), else from the
 * device node for the signed-in session, retried until the node answers. Undefined when the node refuses
 * (401: the session ended; 410: the device was revoked) or `signal` aborts.
 */
export async function browserStorageKey(signal: AbortSignal): Promise<Uint8Array | undefined> {
  const kept = sessionStorage.getItem(KEY_ITEM)
  const raw = kept ? fromBase64(kept) : undefined
  if (raw?.length === 32) return raw
  while (!signal.aborted) {
    try {
      const r = await api('GET', '/api/session/storage-key', StorageKeyReplySchema)
      const key = fromBase64(r.key)
      if (key?.length !== 32) throw new Error('the device node sent a malformed storage key')
      sessionStorage.setItem(KEY_ITEM, r.key)
      return key
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 410)) return undefined
      await new Promise((r) => setTimeout(r, 1000))
    }
  }
  return undefined
}

/**
 * The device was revoked: deletes this browser's copy of the clinic (every `clinic-mesh*` IndexedDB database) and the
 * app's localStorage / sessionStorage entries. `current` is closed first (an open connection would block the delete).
 */
export async function wipeBrowserCopy(current: BrowserRepo | undefined): Promise<void> {
  for (const store of [localStorage, sessionStorage]) {
    for (const k of Object.keys(store)) if (k.startsWith(ITEM_PREFIX)) store.removeItem(k)
  }
  await current?.close()
  await deleteDatabases(() => true)
}

async function deleteDatabases(which: (name: string) => boolean): Promise<void> {
  const names = new Set<string>([DB_PREFIX])
  try {
    for (const db of await indexedDB.databases()) if (db.name?.startsWith(DB_PREFIX)) names.add(db.name)
  } catch {
    /* no databases(): only the known names */
  }
  await Promise.all(
    [...names].filter(which).map(
      (name) =>
        new Promise<void>((resolve) => {
          const req = indexedDB.deleteDatabase(name)
          req.onsuccess = req.onerror = () => resolve()
          // another tab still has it open: the delete completes once that tab closes it
          req.onblocked = () => setTimeout(resolve, 2000)
        }),
    ),
  )
}

/** `clinic-mesh-<16 hex>`: a fingerprint of the key (SHA-256 with its own label), not the key. */
async function databaseName(rawKey: Uint8Array): Promise<string> {
  const label = new TextEncoder().encode('clinic-mesh/browser-db/v1')
  const input = new Uint8Array(label.length + rawKey.length)
  input.set(label)
  input.set(rawKey, label.length)
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', input))
  return `${DB_PREFIX}-${[...digest.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join('')}`
}

function fromBase64(s: string): Uint8Array | undefined {
  try {
    return Uint8Array.from(atob(s), (c) => c.charCodeAt(0))
  } catch {
    return undefined
  }
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
