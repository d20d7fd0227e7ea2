import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { StorageAdapterInterface } from '@automerge/automerge-repo'
import type { BrowserKeyHost } from './node-host.js'
import { sendJson } from './http-util.js'
import { log } from './log.js'
import { ready, who } from './route-context.js'

/**
 * Where the browser-storage key lives: one chunk of the node's own repo storage, so it is sealed like every chunk
 * (AES-256-GCM under the device's data key, the key path in the AAD) and wiped with `repo/` when the device is revoked.
 * Not a document id (those are base58 automerge ids), so automerge-repo never reads it.
 */
export const BROWSER_KEY_CHUNK = ['clinic-mesh-browser-storage-key'] as const

const KEY_BYTES = 32
const pending = new WeakMap<StorageAdapterInterface, Promise<Uint8Array>>()

async function loadOrCreate(storage: StorageAdapterInterface): Promise<Uint8Array> {
  let stored: Uint8Array | undefined
  try {
    stored = await storage.load([...BROWSER_KEY_CHUNK])
  } catch (err) {
    // unreadable (a data key retired since): a new key; the browsers drop their old copy and fetch again from the node
    log('browser-key-unreadable', { error: err instanceof Error ? err.name : 'unknown' })
  }
  if (stored?.length === KEY_BYTES) return stored
  const key = new Uint8Array(randomBytes(KEY_BYTES))
  await storage.save([...BROWSER_KEY_CHUNK], key)
  return key
}

/**
 * The key the web app encrypts its IndexedDB copy with (@clinic-mesh/storage-webcrypto): one random AES-256 key per
 * device node, generated on first use and stored sealed under the device's data key (docs/THREAT_MODEL.md §7).
 */
export function browserStorageKey(storage: StorageAdapterInterface): Promise<Uint8Array> {
  let key = pending.get(storage)
  if (!key) {
    key = loadOrCreate(storage)
    pending.set(storage, key)
    key.catch(() => pending.delete(storage)) // a failed disk write: the next request tries again
  }
  return key
}

/** `GET /api/session/storage-key`: any signed-in user's browser gets `{ key: base64 }` (never cached). */
export async function browserKeyRoute(
  node: BrowserKeyHost,
  req: IncomingMessage,
  res: ServerResponse,
  parts: string[],
): Promise<boolean> {
  if (parts.length !== 3 || parts[1] !== 'session' || parts[2] !== 'storage-key' || req.method !== 'GET')
    return false
  who(node, req)
  const key = await browserStorageKey(ready(node.storage))
  sendJson(res, 200, { key: Buffer.from(key).toString('base64') })
  return true
}
