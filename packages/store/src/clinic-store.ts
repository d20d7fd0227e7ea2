import { parseAutomergeUrl } from '@automerge/automerge-repo'
import type { AutomergeUrl, DocHandle, DocumentId, Repo, SharePolicy } from '@automerge/automerge-repo'
import type { Doc } from '@automerge/automerge'
import { LayoutError, UnknownPatientError } from './errors.js'
import { findDoc } from './find.js'
import {
  LAYOUT,
  TEXT_ROOT_LAYOUT,
  isClinicRoot,
  rootLayout,
  shardOf,
  type ClinicRootDoc,
  type IndexShardDoc,
  type RootLayout,
} from './layout.js'
import type { PatientIndex, SearchOptions } from './patient-index.js'
import { HeldBuckets } from './held-buckets.js'
import { countCharts, pullBuckets, pullOrder, pullWidthFor, type PullOptions } from './chart-pull.js'
import { createClinicDocuments, reannounceOnHolderNews, type NewClinicInit } from './clinic-documents.js'
import { groupBy, nextTurn } from './next-turn.js'
import { changeBucket } from './bulk-change.js'
import type { BucketDoc } from './bucket-doc.js'
import { IndexCache, type CachedShard } from './index-cache.js'
import { IndexShards, type Derived } from './index-shards.js'
import { releaseLatestPatches } from './pinned/release-patches.js'
import type { PatientSummary } from './summary-codec.js'
import { holdSaves, installAutomergeHooks } from './pinned/index.js'
import { documentIdOf } from './layout.js'
import { ArchiveShelf } from './archive-shelf.js'
import { REPAIR_DELAY_MS } from './deferred-repairs.js'
import { SummaryRepairs } from './summary-repairs.js'
import { clinicSharePolicy } from './share-policy.js'
import { TodayDocs, todayDocumentId } from './today-docs.js'
import { hookOptions, type BulkWrite, type ClinicStoreInit, type CreateClinicInit } from './store-init.js'

export type { BulkWrite, ClinicStoreInit, CreateClinicInit } from './store-init.js'

/**
 * The clinic's records laid out for 10,000+ charts: a root document, a few index shards of packed
 * summaries (searchable as soon as they arrive), and chart buckets (full charts, many per document).
 * Every write to a chart also refreshes its summary; a remote change to a chart whose summary no longer
 * matches is repaired by whichever device sees it (the repair is deterministic, so repairs converge).
 */
export class ClinicStore<B extends BucketDoc> {
  readonly #repo: Repo
  readonly #root: DocHandle<ClinicRootDoc>
  readonly #init: ClinicStoreInit<B>
  readonly #shards: IndexShards
  readonly #buckets: HeldBuckets<B>
  /** The clinic's archive documents of closed visits (issue 17 #3): which this device holds, opening, creating. */
  readonly archives: ArchiveShelf
  /** The clinic's today documents (issue 17 #4): the day's open visits, which a joining tablet reads first. */
  readonly today: TodayDocs
  /** Resolves once every index shard is local (at once, unless opened from a saved copy: see `open`). */
  #shardsReady: Promise<void> = Promise.resolve()
  #shardsLoaded = true
  #startShards: () => void = () => undefined
  #savedHeads: string | undefined
  readonly #repairs: SummaryRepairs<B>
  readonly #shardIds: ReadonlySet<DocumentId>

  private constructor(
    repo: Repo,
    root: DocHandle<ClinicRootDoc>,
    shards: DocHandle<IndexShardDoc>[],
    init: ClinicStoreInit<B>,
    cached?: CachedShard[],
    today?: TodayDocs,
  ) {
    this.#repo = repo
    this.#buckets = new HeldBuckets<B>(
      repo,
      () => this.layout.chartBuckets,
      (p) => this.#repairs.onBucketChange(p),
    )
    this.#root = root
    this.#shardIds = new Set(rootLayout(root.doc()).indexShards.map((u) => parseAutomergeUrl(u).documentId))
    this.archives = new ArchiveShelf(repo, root, init.history ?? {})
    this.today = today ?? new TodayDocs(repo, root, init.today ?? {}, init.writeSummaries !== false)
    this.#shards = new IndexShards(shards, init.writeSummaries !== false, cached)
    this.#init = init
    this.#repairs = new SummaryRepairs<B>(
      init.repairDelayMs ?? REPAIR_DELAY_MS,
      init.writeSummaries !== false,
      (doc, id) => this.#refreshSummary(doc, id),
    )
    this.#buckets.adoptPresent()
    reannounceOnHolderNews(repo, root)
  }

  /** The patient index (search), read from the index shards. */
  get index(): PatientIndex {
    return this.#shards.index
  }

  /** Patient id → packed open visits (records' `decodeOpenVisits`, `queueOf`), read from the index shards. */
  get openVisits(): ReadonlyMap<string, string> {
    return this.#shards.visits
  }

  /** How many chart buckets this store holds in memory (opened, adopted, or loading). */
  get loadedBuckets(): number {
    return this.#buckets.size
  }

  /** How many patients' summary repairs of remote chart edits are held back (see `DeferredRepairs`). */
  get pendingRepairs(): number {
    return this.#repairs.pending
  }

  /** Resolves once no summary repair is held back: the pending ones have run (and written what still differed). */
  repairsSettled(): Promise<void> {
    return this.#repairs.settled()
  }

  /** Releases held buckets neither used nor changed for `idleMs` to storage; resolves with how many. */
  releaseIdle(idleMs: number): Promise<number> {
    return this.#buckets.releaseIdle(idleMs)
  }

  static create<B extends BucketDoc>(repo: Repo, init: CreateClinicInit<B>): ClinicStore<B> {
    installAutomergeHooks(repo, hookOptions(init))
    const { root, shards } = createClinicDocuments(repo, init)
    return new ClinicStore(repo, root, shards, init) // its first today entry opens today's document
  }

  /**
   * The documents of a new clinic (root, index shards, empty chart buckets), with no store over them: for a device
   * that opens the clinic with `open` next. A store from `create` listens to its buckets and shards for as long as the
   * repo lives: a second store over the same documents would refresh every summary of the first one's writes again,
   * one shard change per patient (measured: a third of a 10,000-chart import on the founding device).
   */
  static createDocuments<B extends BucketDoc>(repo: Repo, init: NewClinicInit<B>): AutomergeUrl {
    return createClinicDocuments(repo, init).root.url
  }

  /**
   * Opens a clinic by its root URL: resolves once every index shard is local, i.e. every patient is searchable. With
   * `indexCache` and a copy saved by `saveIndexCache`, resolves as soon as that copy is read: search and open visits
   * answer from it while the shards load (`indexReady`), and each shard replaces its part of the copy on arrival.
   * With `todayFirst` and no saved copy (a joining tablet) in a clinic that keeps today documents, resolves once today's is local
   * (`todayPatients`): its patients are searchable and their open visits known, the shards load after.
   */
  static async open<B extends BucketDoc>(
    repo: Repo,
    rootUrl: AutomergeUrl,
    init: ClinicStoreInit<B> & { signal?: AbortSignal; indexCache?: boolean; todayFirst?: boolean },
  ): Promise<ClinicStore<B>> {
    installAutomergeHooks(repo, hookOptions(init))
    const opts = init.signal ? { signal: init.signal } : {}
    const root = await findDoc<ClinicRootDoc>(repo, rootUrl, opts)
    const stored = root.doc()
    if (!isClinicRoot(stored))
      throw new LayoutError(
        `document ${rootUrl} is not a clinic root of layout ${LAYOUT} or ${TEXT_ROOT_LAYOUT}`,
      )
    const doc = rootLayout(stored)
    const saved = init.indexCache
      ? await new IndexCache(repo, root.documentId).load(doc.indexShards.length)
      : undefined
    const { today, cached, joining } = await TodayDocs.atOpen(repo, root, init, saved)
    if (cached) {
      const store = new ClinicStore(repo, root, [], init, cached, today)
      store.#shardsLoaded = false
      const start = new Promise<void>((resolve) => (store.#startShards = resolve))
      // a shard that never loads (the open aborted) leaves writes of summaries undone, not hanging
      store.#shardsReady = store.#shards.load(repo, doc.indexShards, cached, start, init.signal).then(
        () => void (store.#shardsLoaded = true),
        () => undefined,
      )
      // today first: today's buckets before the shards (`pullToday`, or anything that needs the index, starts them)
      if (!joining) store.#startShards()
      return store
    }
    const shards = await Promise.all(doc.indexShards.map((url) => findDoc<IndexShardDoc>(repo, url, opts)))
    return new ClinicStore(repo, root, shards, init, undefined, today)
  }

  /** Patients with an open visit that arrived today, from today's document (issue 17 #4), before any index shard. */
  todayPatients(): string[] {
    return this.today.entries().map(([id]) => id)
  }

  /**
   * Pulls the chart buckets of `todayPatients` (kept in memory: the day's work), all of them asked at once: they stay
   * in memory either way, so no width bounds them, and no bucket waits for a round trip behind another. Their saves
   * to storage (and the root's and today's document's) wait until all are local (`pinned/save-hold.ts`: saving
   * competed with the pull for the CPU).
   */
  async pullToday(onBucket?: (bucket: number) => void): Promise<number[]> {
    const buckets = [...new Set(this.todayPatients().map((p) => this.bucketIndexOf(p)))]
    const urls = this.layout.chartBuckets
    const ids = buckets.flatMap((i) => documentIdOf(urls[i] ?? '') ?? [])
    // the root's and today's document's first saves too (each ~100 ms after it arrived: in the pull)
    const day = todayDocumentId(this.#root.doc().clinic, this.today.day)
    const release = holdSaves(this.#repo, [...ids, this.#root.documentId, day])
    try {
      await pullBuckets(this.#buckets, buckets, buckets.length, { release: false, use: true, onBucket })
    } finally {
      this.#startShards() // the index shards after today's buckets (not competing with them)
      void nextTurn().then(release) // their requests first, then the held saves
    }
    return buckets
  }

  /** Resolves once every index shard is local and read (at once unless opened from a saved copy or today first). */
  get indexReady(): Promise<void> {
    this.#startShards()
    return this.#shardsReady
  }

  /** Saves what the index shards hold (see `open`'s `indexCache`) once they are local, if it changed since. */
  async saveIndexCache(): Promise<void> {
    this.today.flush() // at every idle sweep and at stop: no today entry is left held back
    await this.#shardsReady
    const heads = this.#shards.heads()
    if (!this.#shardsLoaded || heads === this.#savedHeads) return
    await new IndexCache(this.#repo, this.#root.documentId).save(this.#shards.snapshot())
    this.#savedHeads = heads
  }

  get rootUrl(): AutomergeUrl {
    return this.#root.url
  }

  /** The clinic root, its URLs as strings whichever form it stores them in (`rootLayout`). */
  get layout(): RootLayout {
    return rootLayout(this.#root.doc())
  }

  /** Every document of the layout: root, index shards, chart buckets. */
  documentUrls(): AutomergeUrl[] {
    const l = this.layout
    return [this.#root.url, ...l.indexShards, ...l.chartBuckets]
  }

  /** Announce policy for the repo (a priority sync queue): see `clinicSharePolicy`. */
  readonly sharePolicy: SharePolicy = clinicSharePolicy({
    archive: (peer, id) => this.archives.sharePolicy(peer, id),
    isShard: (id) => this.#shardIds.has(id),
    fetchingShards: () => !this.#shardsLoaded,
    bucketOpened: (id) =>
      this.#buckets.numberOf(id) === undefined ? undefined : this.#buckets.opened.has(id),
    isBootstrapped: (peer) => this.isBootstrapped(peer),
  })

  /** Whether a peer has announced that it holds every chart bucket. */
  isBootstrapped(peer: string): boolean {
    return this.#root.doc().bootstrapped?.[peer] !== undefined
  }

  search(query: string, options?: SearchOptions): PatientSummary[] {
    return this.index.search(query, options)
  }

  bucketIndexOf(patientId: string): number {
    return shardOf(patientId, this.layout.chartBuckets.length)
  }

  /** The bucket holding a patient's chart, fetched from storage or peers on first use. */
  bucketFor(patientId: string): Promise<DocHandle<B>> {
    return this.#buckets.open(this.bucketIndexOf(patientId), true) // in memory until idle (releaseIdle)
  }

  /**
   * Opens the bucket of `patientId` (a chart about to be written: the desk's next new patient) and keeps it in memory
   * until `unholdBucketFor`, released by no idle sweep: the write then finds it loaded instead of reading it from disk
   * on its path. Resolves once it is loaded.
   */
  async holdBucketFor(patientId: string): Promise<void> {
    await this.#buckets.hold(this.bucketIndexOf(patientId))
  }

  /** Ends one `holdBucketFor(patientId)`: the bucket is released like any other once idle. */
  unholdBucketFor(patientId: string): void {
    this.#buckets.unhold(this.bucketIndexOf(patientId))
  }

  /** Chart bucket `i` (an archiving pass walks them all), kept in memory until idle (`releaseIdle`). */
  bucketAt(i: number): Promise<DocHandle<B>> {
    return this.#buckets.open(i, true)
  }

  /** Applies a change to the bucket holding this patient and refreshes the patient's summary. */
  async change(
    patientId: string,
    fn: (bucket: B) => void,
    options: { message?: string } = {},
  ): Promise<Doc<B>> {
    await this.indexReady // its summary goes into a shard
    const handle = await this.bucketFor(patientId)
    this.#repairs.local(() => handle.change(fn, options.message ? { message: options.message } : {}))
    const doc = handle.doc()
    releaseLatestPatches(doc)
    this.#refreshSummary(doc, patientId)
    return doc
  }

  /**
   * Bulk writes (an import, a migration): the writes are grouped by chart bucket and each bucket takes ONE change
   * holding all of its writes, in the given order; then each touched index shard takes one change holding all of
   * its refreshed summaries. N patients cost ~64 + 16 changes instead of 2N, which is what makes a 10,000-patient
   * import linear and fast (a change costs a fixed ~1 ms through a DocHandle, beside the per-value cost). A write
   * that throws aborts its whole bucket's change (nothing of that bucket is written) and is rethrown after the
   * other buckets are written; summaries of the written buckets are refreshed either way. Other work runs between
   * two buckets' changes (not inside one); the summaries, and so search, follow once every bucket is written.
   */
  async changeMany(writes: Iterable<BulkWrite<B>>, options: { message?: string } = {}): Promise<void> {
    await this.indexReady
    const byBucket = groupBy(writes, (w) => this.bucketIndexOf(w.patientId))
    const derived: [string, Derived][] = []
    let failure: Error | undefined
    for (const [k, [i, list]] of [...byBucket].sort((x, y) => x[0] - y[0]).entries()) {
      // between buckets, let the event loop run: a registration at the desk waits for one bucket's change, not for
      // the whole import (a held bucket's open resolves as a microtask, which lets nothing else in)
      if (k > 0) await nextTurn()
      const handle = await this.#buckets.open(i, true)
      try {
        this.#repairs.local(() =>
          changeBucket(handle, list, options.message ? { message: options.message } : {}),
        )
      } catch (err) {
        failure ??= err instanceof Error ? err : new Error(String(err))
        continue
      }
      const doc = handle.doc()
      releaseLatestPatches(doc)
      for (const w of list) {
        const d = this.#derive(doc, w.patientId)
        if (d) derived.push([w.patientId, d])
      }
    }
    // one shard's change at a time, the event loop running between them (as between buckets)
    await this.#shards.writeInTurns(derived)
    this.today.write(derived)
    if (failure !== undefined) throw failure
  }

  async chart<C>(patientId: string): Promise<C> {
    const doc = (await this.bucketFor(patientId)).doc()
    const chart = doc.charts[patientId]
    if (chart === undefined) throw new UnknownPatientError(patientId)
    return chart as C
  }

  /** Buckets a pull fetches at once: `pullWidthFor` this clinic's size and bucket count. */
  pullWidth(): number {
    return pullWidthFor(this.index.size, this.layout.chartBuckets.length)
  }

  /**
   * Fetches every chart bucket (a new tablet prefetching the whole clinic), a few at a time.
   *
   * With `release`, each bucket is written to the repo's storage and then dropped from memory as soon as it is local
   * (automerge-repo's `removeFromCache`): a joining tablet needs every chart on its disk, not in its heap, and holds
   * at most `concurrency` buckets at once instead of all of them (P1: the joining repo's RSS). A released bucket is
   * loaded from storage again by the next `bucketFor`/`change`/`chart` (and then stays), or by the repo itself when a
   * peer sends it a change; the summary repair of remote edits runs only for buckets this store holds (a released
   * bucket's summaries are repaired by the peers that hold it, or when this store opens it again). Without storage
   * (`repo.storageSubsystem` absent) `release` is ignored: there would be nowhere to keep the charts.
   * `concurrency` defaults to `pullWidth()`: as many buckets at once as hold about `CHARTS_IN_FLIGHT` charts.
   */
  async loadAllCharts(concurrency = this.pullWidth(), options: PullOptions = {}): Promise<void> {
    const release = options.release === true && this.#repo.storageSubsystem !== undefined
    const order = pullOrder(this.layout.chartBuckets.length, options.first)
    await pullBuckets(this.#buckets, order, concurrency, { release, onBucket: options.onBucket })
    const me = this.#repo.peerId
    if (!this.isBootstrapped(me)) {
      this.#root.change((d) => {
        if (d.bootstrapped) d.bootstrapped[me] = new Date().toISOString()
      })
      this.#repo.shareConfigChanged()
    }
  }

  /** How many charts the buckets hold (a released bucket as it was saved: see chart-pull's `countCharts`). */
  countCharts(): Promise<number> {
    return countCharts(this.#buckets, this.layout.chartBuckets.length)
  }

  #derive(doc: Doc<B>, patientId: string): Derived | undefined {
    const summary = this.#init.summarize(doc, patientId)
    return summary && { summary, visits: this.#init.openVisits?.(doc, patientId) }
  }

  #refreshSummary(doc: Doc<B>, patientId: string): void {
    const d = this.#derive(doc, patientId)
    if (!d) return
    const write = (): void => {
      this.#shards.write([[patientId, d]])
      this.today.write([[patientId, d]])
    }
    if (this.#shardsLoaded) write()
    else void this.#shardsReady.then(write) // a remote edit during the start
  }
}
