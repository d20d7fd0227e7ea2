import type { Chunk, StorageAdapterInterface, StorageKey } from '@automerge/automerge-repo'
import type pg from 'pg'
import { type FencedStorage, isDocChunk } from './fenced-storage.js'
import { RELAY_CHANNEL, chunkNotice } from './pg-schema.js'

/** How many chunk keys an instance remembers as stored (the oldest are forgotten first). */
const KNOWN_KEYS = 20_000
/** How long chunks read ahead for a clinic being opened stay for the repo's loads of them (then read again). */
const PREFETCH_MS = 10_000
/**
 * A device's sync state is written at most once per this long per document (the last one). automerge-repo saves it
 * after each sync message (throttled per device by the repo's save debounce, 20 ms here); it is a cache: an older
 * sync state only makes the next sync with that device resend what it already has.
 */
export const SYNC_STATE_WRITE_MS = 2_000

const isSyncState = (key: readonly string[]): boolean => key[1] === 'sync-state'
const joined = (key: readonly string[]): string => key.join('\u0000')

/**
 * The relay's automerge storage when instances share a database: every saved chunk is announced on RELAY_CHANNEL
 * with its key (after its row is committed, so a listener that reads it finds it). The documents only the settler
 * writes are fenced (`FencedStorage`): their one road is the checkpoint transaction under the clinic's lease
 * (pg-checkpoints.ts).
 *
 * A chunk this instance knows is stored already (it wrote it, or read it after another instance announced it) is not
 * written again: its key names its content (automerge-repo: an incremental chunk's key is the hash of its bytes, a
 * snapshot's the hash of the document's heads). Without this every instance writes back, and announces, each change
 * another instance announced as soon as it merged it (an echo: two more writes and notices per change per instance).
 *
 * Devices' sync states (`[doc, 'sync-state', storageId]`) are written behind, the last one per key every
 * SYNC_STATE_WRITE_MS (P12 with devices that keep storage: PostgreSQL's CPU per settled operation 1.6× without), read
 * back from memory meanwhile, and written out at `flushSyncStates` (the instance's close). A failed write is counted
 * (`syncStateWriteFailures`), never thrown into the repo: automerge-repo does not await the save.
 */
export class SharedStorage implements StorageAdapterInterface {
  readonly #inner: FencedStorage
  readonly #pool: pg.Pool
  readonly #source: string
  /** keys of chunks known to be in storage (insertion order: the oldest are dropped first) */
  readonly #known = new Set<string>()
  /** chunks read ahead (a clinic being opened: one query for its documents), per document, until taken or stale */
  readonly #ahead = new Map<string, { chunks: Chunk[]; until: number; taken: Set<string> }>()
  /** reads ahead under way, and when (#clock) a document was written or announced since they began */
  #reads = 0
  #clock = 0
  readonly #touchedAt = new Map<string, number>()
  #allTouchedAt = 0
  /** sync states not written yet, by joined key (the last one saved) */
  readonly #syncStates = new Map<string, { key: StorageKey; data: Uint8Array }>()
  #syncTimer: NodeJS.Timeout | undefined
  #syncWrite: Promise<void> = Promise.resolve()
  /** sync states whose write failed (the next save of the key writes it again) */
  syncStateWriteFailures = 0

  readonly #syncStateWriteMs: number

  constructor(inner: FencedStorage, pool: pg.Pool, source: string, syncStateWriteMs = SYNC_STATE_WRITE_MS) {
    this.#inner = inner
    this.#pool = pool
    this.#source = source
    this.#syncStateWriteMs = syncStateWriteMs
  }

  /** A document chunk read from storage: it is there, a save of the same key would write the same content. */
  noteStored(key: readonly string[]): void {
    if (!isDocChunk(key)) return
    const k = key.join('\u0000')
    this.#known.delete(k)
    this.#known.add(k)
    if (this.#known.size > KNOWN_KEYS) this.#known.delete(this.#known.values().next().value!)
  }

  /**
   * What storage holds of `documentId` (`chunks`, read just now with other documents of a clinic being opened): the
   * repo's next loads of it take them instead of a query each (its snapshots, then its incremental chunks). Forgotten
   * when the document is written or another instance announces a write of it, and after PREFETCH_MS.
   */
  readAhead(documentId: string, chunks: Chunk[], since = Infinity): void {
    // written or announced after the query began: what it read may be older than storage
    if (Math.max(this.#touchedAt.get(documentId) ?? 0, this.#allTouchedAt) > since) return
    const now = performance.now()
    // those never asked for (a clinic closed while it opened) go with the next read ahead
    for (const [id, got] of this.#ahead) if (got.until < now) this.#ahead.delete(id)
    this.#ahead.set(documentId, { chunks, until: now + PREFETCH_MS, taken: new Set() })
  }

  /** A read ahead begins: pass the mark it returns to `readAhead`, then call `endRead`. */
  beginRead(): number {
    this.#reads++
    return this.#clock
  }

  endRead(): void {
    if (--this.#reads === 0) this.#touchedAt.clear()
  }

  #touch(documentId: string | undefined): void {
    const t = ++this.#clock
    if (this.#reads === 0) return
    if (documentId === undefined) this.#allTouchedAt = t
    else this.#touchedAt.set(documentId, t)
  }

  /** Whether chunks of `documentId` read ahead wait for the repo's load (none taken yet, not stale). */
  isAhead(documentId: string): boolean {
    const got = this.#ahead.get(documentId)
    return got !== undefined && got.taken.size === 0 && got.until >= performance.now()
  }

  /** Drop what was read ahead of `documentId` (every document: none given), e.g. another instance wrote it. */
  forget(documentId?: string): void {
    this.#touch(documentId)
    if (documentId === undefined) this.#ahead.clear()
    else this.#ahead.delete(documentId)
  }

  /** The chunks read ahead under `keyPrefix` (a document, or its snapshots or incremental chunks), once each. */
  aheadOf(keyPrefix: readonly string[]): Chunk[] | undefined {
    const id = keyPrefix[0]
    const got = id === undefined || keyPrefix.length > 2 ? undefined : this.#ahead.get(id)
    if (!got) return undefined
    const part = keyPrefix[1] ?? '*'
    if (got.until < performance.now() || got.taken.has(part) || got.taken.has('*')) {
      this.#ahead.delete(id!)
      return undefined
    }
    got.taken.add(part)
    if (part === '*' || (got.taken.has('snapshot') && got.taken.has('incremental'))) this.#ahead.delete(id!)
    return got.chunks.filter((c) => part === '*' || c.key[1] === part)
  }

  load(key: StorageKey): Promise<Uint8Array | undefined> {
    const pending = isSyncState(key) ? this.#syncStates.get(joined(key)) : undefined
    return pending ? Promise.resolve(pending.data) : this.#inner.load(key)
  }

  /** Write the sync states saved since the last write (the timer's, or the instance closing). */
  flushSyncStates(): Promise<void> {
    clearTimeout(this.#syncTimer)
    this.#syncTimer = undefined
    const batch = [...this.#syncStates.values()]
    this.#syncStates.clear()
    const write = async (): Promise<void> => {
      for (const { key, data } of batch)
        await this.#inner.save(key, data).catch(() => {
          this.syncStateWriteFailures++
        })
    }
    this.#syncWrite = this.#syncWrite.then(write)
    return this.#syncWrite
  }

  #deferSyncState(key: StorageKey, data: Uint8Array): void {
    this.#syncStates.set(joined(key), { key, data })
    if (this.#syncTimer !== undefined) return
    this.#syncTimer = setTimeout(() => void this.flushSyncStates(), this.#syncStateWriteMs)
    this.#syncTimer.unref?.()
  }

  loadRange(keyPrefix: StorageKey): Promise<Chunk[]> {
    const ahead = this.aheadOf(keyPrefix)
    return ahead ? Promise.resolve(ahead) : this.#inner.loadRange(keyPrefix)
  }

  async save(key: StorageKey, data: Uint8Array): Promise<void> {
    if (isSyncState(key)) return this.#deferSyncState(key, data)
    this.#touch(key[0])
    if (key[0] !== undefined) this.#ahead.delete(key[0])
    if (this.#inner.isFenced(key) || this.#known.has(key.join('\u0000'))) return
    await this.#inner.save(key, data)
    if (!isDocChunk(key)) return
    this.noteStored(key)
    // an incremental chunk holds only the new changes: the others merge them from the notice, no read
    await this.#pool.query('SELECT pg_notify($1, $2)', [
      RELAY_CHANNEL,
      chunkNotice(this.#source, key, key[1] === 'incremental' ? data : undefined),
    ])
  }

  async remove(key: StorageKey): Promise<void> {
    this.#syncStates.delete(joined(key))
    if (key[0] !== undefined) this.#ahead.delete(key[0])
    this.#known.delete(key.join('\u0000'))
    await this.#inner.remove(key)
  }

  async removeRange(keyPrefix: StorageKey): Promise<void> {
    if (keyPrefix[0] !== undefined) this.#ahead.delete(keyPrefix[0])
    else this.#ahead.clear()
    const prefix = joined(keyPrefix)
    const under = (k: string): boolean => k === prefix || k.startsWith(`${prefix}\u0000`)
    for (const k of this.#known) if (under(k)) this.#known.delete(k)
    for (const k of this.#syncStates.keys()) if (under(k)) this.#syncStates.delete(k)
    await this.#inner.removeRange(keyPrefix)
  }
}
