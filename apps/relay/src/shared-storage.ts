import type { Chunk, StorageAdapterInterface, StorageKey } from '@automerge/automerge-repo'
import type pg from 'pg'
import { type FencedStorage, isDocChunk } from './fenced-storage.js'
import { RELAY_CHANNEL, chunkNotice } from './pg-schema.js'
import { SYNC_STATE_WRITE_MS, SyncStateWriteBehind } from '@clinic-mesh/store'

/** How many chunk keys an instance remembers as stored (the oldest are forgotten first). */
const KNOWN_KEYS = 20_000
/** How long chunks read ahead for a clinic being opened stay for the repo's loads of them (then read again). */
const PREFETCH_MS = 10_000
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
 * Devices' sync states (`[doc, 'sync-state', storageId]`) are written behind (`SyncStateWriteBehind`, the last one
 * per key every 2 s; P12 with devices that keep storage: PostgreSQL's CPU per settled operation was 1.6× without),
 * and written out at `flushSyncStates` (the instance's close).
 */
export class SharedStorage implements StorageAdapterInterface {
  readonly #fenced: FencedStorage
  /** the fenced storage with sync states written behind: every read and write but the fence check goes through it */
  readonly #inner: SyncStateWriteBehind
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

  constructor(inner: FencedStorage, pool: pg.Pool, source: string, syncStateWriteMs = SYNC_STATE_WRITE_MS) {
    this.#fenced = inner
    this.#inner = new SyncStateWriteBehind(inner, syncStateWriteMs)
    this.#pool = pool
    this.#source = source
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
    return this.#inner.load(key)
  }

  /** Write the sync states saved since the last write (the instance's close). */
  flushSyncStates(): Promise<void> {
    return this.#inner.flush()
  }

  loadRange(keyPrefix: StorageKey): Promise<Chunk[]> {
    const ahead = this.aheadOf(keyPrefix)
    return ahead ? Promise.resolve(ahead) : this.#inner.loadRange(keyPrefix)
  }

  async save(key: StorageKey, data: Uint8Array): Promise<void> {
    if (key[1] === 'sync-state') return this.#inner.save(key, data)
    this.#touch(key[0])
    if (key[0] !== undefined) this.#ahead.delete(key[0])
    if (this.#fenced.isFenced(key) || this.#known.has(key.join('\u0000'))) return
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
    if (key[0] !== undefined) this.#ahead.delete(key[0])
    this.#known.delete(key.join('\u0000'))
    await this.#inner.remove(key)
  }

  async removeRange(keyPrefix: StorageKey): Promise<void> {
    if (keyPrefix[0] !== undefined) this.#ahead.delete(keyPrefix[0])
    else this.#ahead.clear()
    const prefix = joined(keyPrefix)
    for (const k of this.#known) if (k === prefix || k.startsWith(`${prefix}\u0000`)) this.#known.delete(k)
    await this.#inner.removeRange(keyPrefix)
  }
}
