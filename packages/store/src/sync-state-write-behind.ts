import type { Chunk, StorageAdapterInterface, StorageKey } from '@automerge/automerge-repo'

/** How often the sync states saved since the last write are written (the last one per key). */
export const SYNC_STATE_WRITE_MS = 2_000

const isSyncState = (key: readonly string[]): boolean => key[1] === 'sync-state'
const joined = (key: readonly string[]): string => key.join('\u0000')
const under = (prefix: readonly string[]) => {
  const p = joined(prefix)
  return (k: string): boolean => prefix.length === 0 || k === p || k.startsWith(`${p}\u0000`)
}

interface Pending {
  key: StorageKey
  data: Uint8Array
}

/**
 * A storage adapter that writes peers' sync states (`[doc, 'sync-state', storageId]`) behind: automerge-repo saves
 * one after each sync message it sends or receives (throttled per peer by its save debounce: 100 ms on a tablet,
 * 20 ms on a relay instance over PostgreSQL), each a write to disk or a row. Here the first sync state of a key goes
 * through, later ones are written behind: the last one per key every `writeMs` and at `flush` (the owner's
 * shutdown). Everything else goes straight through.
 *
 * Transparent to readers: a load, a range load or a removal sees the sync states not written yet (automerge-repo's
 * storage acceptance suite runs over it). A sync state is a cache: one lost with a crash or a power cut only makes
 * the next sync with that peer resend what the peer already has, and a sync state written late is never ahead of the
 * document it describes (which is written as before). A failed write is counted (`failures`), not thrown: the repo
 * does not await these saves, so a rejection would go unhandled; the next save of the key writes it again.
 */
export class SyncStateWriteBehind implements StorageAdapterInterface {
  readonly #inner: StorageAdapterInterface
  readonly #writeMs: number
  /** saved, not written yet */
  #pending = new Map<string, Pending>()
  /** batches taken for writing, oldest first (what a load must still see until written) */
  readonly #writing: Map<string, Pending>[] = []
  #timer: ReturnType<typeof setTimeout> | undefined
  #written: Promise<void> = Promise.resolve()
  /** sync-state keys written (or being written) through this adapter: later saves of them are written behind */
  readonly #stored = new Set<string>()
  /** sync states whose write failed */
  failures = 0
  /** sync states written so far */
  writes = 0

  constructor(inner: StorageAdapterInterface, writeMs = SYNC_STATE_WRITE_MS) {
    this.#inner = inner
    this.#writeMs = writeMs
  }

  /** The adapter underneath. */
  get inner(): StorageAdapterInterface {
    return this.#inner
  }

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    if (isSyncState(key)) {
      const k = joined(key)
      const held = this.#held(k)
      if (held) return held.data
    }
    return this.#inner.load(key)
  }

  async save(key: StorageKey, data: Uint8Array): Promise<void> {
    if (!isSyncState(key)) return this.#inner.save(key, data)
    const k = joined(key)
    if (!this.#stored.has(k)) {
      // the first of a key goes through at once: storage lists keys in the order they first came (as the repo's
      // storage acceptance suite expects), and a peer met once has its sync state kept
      this.#stored.add(k)
      return this.#inner.save(key, data)
    }
    this.#pending.set(k, { key, data: new Uint8Array(data) })
    if (this.#timer !== undefined) return
    this.#timer = setTimeout(() => void this.flush(), this.#writeMs)
    this.#timer.unref?.()
  }

  async remove(key: StorageKey): Promise<void> {
    this.#pending.delete(joined(key))
    this.#stored.delete(joined(key))
    await this.#written // a write under way must not land after the removal
    await this.#inner.remove(key)
  }

  async loadRange(keyPrefix: StorageKey): Promise<Chunk[]> {
    // the range as storage orders it: what it holds of the range not written yet is written first (the repo's loads
    // of a document's snapshots and changes name no sync state: they read straight through)
    const match = under(keyPrefix)
    const held = [...this.#pending.keys()].some(match) || this.#writing.some((b) => [...b.keys()].some(match))
    if (held) await this.#write(match)
    return this.#inner.loadRange(keyPrefix)
  }

  async removeRange(keyPrefix: StorageKey): Promise<void> {
    const match = under(keyPrefix)
    for (const k of [...this.#pending.keys()]) if (match(k)) this.#pending.delete(k)
    for (const k of [...this.#stored]) if (match(k)) this.#stored.delete(k)
    await this.#written
    await this.#inner.removeRange(keyPrefix)
  }

  /** Write the sync states saved since the last write (the timer's, or the owner's at shutdown). */
  flush(): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    return this.#write(() => true)
  }

  /** Writes the pending sync states whose keys `match` (after the writes under way); resolves once all are done. */
  #write(match: (k: string) => boolean): Promise<void> {
    const batch = new Map<string, Pending>()
    for (const [k, p] of this.#pending) if (match(k)) batch.set(k, p)
    for (const k of batch.keys()) this.#pending.delete(k)
    if (batch.size === 0) return this.#written
    this.#writing.push(batch)
    this.#written = this.#written.then(async () => {
      for (const p of batch.values()) {
        try {
          await this.#inner.save(p.key, p.data)
          this.writes++
        } catch {
          this.failures++
        }
      }
      this.#writing.splice(this.#writing.indexOf(batch), 1)
    })
    return this.#written
  }

  /** The newest sync state saved under `k` and not written yet. */
  #held(k: string): Pending | undefined {
    let held = this.#pending.get(k)
    for (let i = this.#writing.length - 1; held === undefined && i >= 0; i--) held = this.#writing[i]!.get(k)
    return held
  }
}
