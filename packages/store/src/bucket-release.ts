import type { DocHandle, DocumentId, Repo } from '@automerge/automerge-repo'
import type { BucketDoc } from './bucket-doc.js'
import { detachSaveBeforeUnload } from './pinned/index.js'

/** Longer than automerge-repo's sync throttle (DocSynchronizer `syncDebounceRate`, 100 ms): see `release`. */
const SYNC_QUIET_MS = 150

/**
 * Chart buckets saved to storage and dropped from memory (`ClinicStore.loadAllCharts({ release: true })`): which
 * ones, how many charts each held when saved, the releases still running, and when each held bucket last changed.
 */
export class BucketReleases {
  readonly #repo: Repo
  /** Charts in each released bucket as it was saved. */
  readonly #savedCounts = new Map<number, number>()
  /** Buckets released and not opened since. */
  readonly #released = new Set<number>()
  /** Pending releases: a bucket opened again waits for its release to finish before the repo finds it anew. */
  readonly #releasing = new Map<number, Promise<void>>()
  /** Releases running, from their start (`#releasing` holds them only from the unload on). */
  readonly #inFlight = new Set<number>()
  /** When each held bucket last changed (performance.now()). */
  readonly #lastChange = new Map<DocumentId, number>()

  constructor(repo: Repo) {
    this.#repo = repo
  }

  /** The bucket was opened for use: it stays in memory from now on (a release still settling gives up). */
  keep(i: number): void {
    this.#released.delete(i)
  }

  /** Resolves once bucket `i` is not being released (before the repo may find it anew). */
  settled(i: number): Promise<void> {
    return this.#releasing.get(i) ?? Promise.resolve()
  }

  /** Whether a release of bucket `i` is running. */
  releasing(i: number): boolean {
    return this.#inFlight.has(i)
  }

  /** The chart count bucket `i` was saved with, while it stays released. */
  savedCount(i: number): number | undefined {
    return this.#released.has(i) ? this.#savedCounts.get(i) : undefined
  }

  changed(doc: DocumentId): void {
    this.#lastChange.set(doc, performance.now())
  }

  /** Whether a held bucket has been neither used nor changed for `ms` (a bucket never seen counts as idle). */
  idleFor(doc: DocumentId, ms: number): boolean {
    return performance.now() - (this.#lastChange.get(doc) ?? -Infinity) >= ms
  }

  /**
   * Saves a bucket and drops it from memory; `forget` removes it from the store's own map first. automerge-repo's
   * DocSynchronizer answers a document's changes with a sync message throttled to once per 100 ms
   * (`syncDebounceRate`); a document unloaded before that send runs leaves it waiting on the unloaded handle for two
   * minutes (its `whenReady` timeout), holding the last change event and with it the whole materialized bucket. So
   * the release waits until the bucket has been quiet for longer than that.
   */
  async release(i: number, h: DocHandle<BucketDoc>, forget: () => void): Promise<void> {
    this.#inFlight.add(i)
    try {
      await this.#release(i, h, forget)
    } finally {
      this.#inFlight.delete(i)
    }
  }

  async #release(i: number, h: DocHandle<BucketDoc>, forget: () => void): Promise<void> {
    this.#released.add(i)
    await this.#repo.flush([h.documentId])
    for (;;) {
      const quiet = performance.now() - (this.#lastChange.get(h.documentId) ?? 0)
      if (quiet >= SYNC_QUIET_MS) break
      await new Promise((resolve) => setTimeout(resolve, SYNC_QUIET_MS - quiet))
    }
    if (!this.#released.has(i)) return // opened for use meanwhile: keep it
    await this.#repo.flush([h.documentId]) // changes that arrived while it was settling
    if (!this.#released.has(i)) return
    this.#savedCounts.set(i, Object.keys(h.doc().charts).length)
    forget()
    detachSaveBeforeUnload(h)
    this.#lastChange.delete(h.documentId)
    const done = this.#repo.removeFromCache(h.documentId).finally(() => this.#releasing.delete(i))
    this.#releasing.set(i, done)
    await done
  }
}
