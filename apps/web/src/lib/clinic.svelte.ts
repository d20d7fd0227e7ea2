import type { DocHandle, Repo, AutomergeUrl, PeerId } from '@automerge/automerge-repo'
import { StatusReplySchema, newId, type ClinicDirectoryDoc, type PatientId } from '@clinic-mesh/contracts'
import { ClinicStore, duplicateKeysOf, findDoc, type PatientSummary } from '@clinic-mesh/store'
import {
  needsReview,
  resolveReview,
  registerPatient,
  openEncounter,
  summarize,
  areLinked,
  linkPatients,
  unlinkPatients,
  type ReviewMarker,
  type Actor,
  type Chart,
  type ChartCollection,
  type RegisterPatientInput,
} from '@clinic-mesh/records'
import { api } from './api.js'
import { RefusedWrites } from './refused.svelte.js'
import { watchOpen } from './open-watch.js'
import { OpenGate } from './open-gate.js'

const DIRECTORY_KEY = 'clinic-mesh.directory'
/** How long a write asked for while the clinic opens waits for the open before it is refused (ClinicNotOpenError). */
const OPEN_WAIT_MS = 60_000

/** Two charts that may be one person (see `Clinic.duplicatePairs`). */
export interface DuplicatePair {
  a: PatientSummary
  b: PatientSummary
  linked: boolean
}

export type ClinicState = 'waiting-for-device' | 'loading' | 'ready' | 'error'

/**
 * The clinic as this browser holds it: its own copy of the records layout (root, index shards, chart
 * buckets) in the browser repo. Search and charts read local data; the device node is only needed to
 * learn the clinic's directory URL once (then cached) and to sync.
 */
export class Clinic {
  state = $state<ClinicState>('loading')
  error = $state<string | undefined>(undefined)
  /** Bumped on every change to the index or an open chart bucket: `$derived` readers re-run on it. */
  version = $state(0)
  name = $state('')
  #store: ClinicStore<ChartCollection> | undefined
  /** The store once open: writes asked for while the clinic opens wait for it (`#ready`). */
  readonly #opened = new OpenGate<ClinicStore<ChartCollection>>()
  readonly #repo: Repo
  readonly #watched = new Map<string, DocHandle<ChartCollection> | undefined>()
  /** Buckets that changed since the clinic opened (by this browser or a peer). */
  readonly #changed = new Set<number>()
  /** Writes the device node refused (kept, shown to the user: nothing typed is lost). */
  readonly refused: RefusedWrites

  readonly #resync: (() => void) | undefined

  /** `resync`: drop and remake the connection to the device node (see `watchOpen`). */
  constructor(repo: Repo, resync?: () => void) {
    this.#repo = repo
    this.#resync = resync
    this.refused = new RefusedWrites((id) => repo.peers.includes(id as PeerId))
  }

  get store(): ClinicStore<ChartCollection> | undefined {
    return this.#store
  }

  /** Opens the clinic: directory URL from the cache, else from the device node (retried until it answers). */
  async open(signal?: AbortSignal): Promise<void> {
    let url = localStorage.getItem(DIRECTORY_KEY)
    while (!url && !signal?.aborted) {
      try {
        const status = await api('GET', '/api/status', StatusReplySchema)
        url = status.revoked === true ? null : status.clinic.directoryUrl
        if (url) localStorage.setItem(DIRECTORY_KEY, url)
        else throw new Error('the device node did not name its clinic directory')
      } catch (err) {
        this.state = 'waiting-for-device'
        this.error = err instanceof Error ? err.message : String(err)
        await new Promise((r) => setTimeout(r, 1000))
      }
    }
    if (!url) return
    this.state = 'loading'
    const stopWatch = watchOpen(this.#repo, {
      state: () => this.state,
      ...(this.#resync ? { resync: this.#resync } : {}),
    })
    try {
      const dir = await findDoc<ClinicDirectoryDoc>(this.#repo, url as AutomergeUrl, signal ? { signal } : {})
      this.name = dir.doc().name || dir.doc().clinic
      const store = await ClinicStore.open<ChartCollection>(
        this.#repo,
        dir.doc().recordsRoot as unknown as AutomergeUrl,
        {
          summarize: (bucket, pid) => {
            const chart = bucket.charts[pid]
            return chart ? summarize(chart) : undefined
          },
          // the device node derives the index from the charts it accepts; this browser only updates its own copy
          writeSummaries: false,
          ...(signal ? { signal } : {}),
        },
      )
      this.#store = store
      this.#opened.open(store)
      for (const h of store.documentUrls().slice(1, 1 + store.layout.indexShards.length)) {
        void findDoc(this.#repo, h).then((shard) => shard.on('heads-changed', () => this.version++))
      }
      this.state = 'ready'
      this.error = undefined
      this.version++
      void this.#loadAll()
    } catch (err) {
      this.state = 'error'
      this.error = err instanceof Error ? err.message : String(err)
    } finally {
      stopWatch()
    }
  }

  /**
   * Pulls every chart bucket in the background, today's first: the buckets of the patients with an open visit (the
   * queue and the pick list read them) at once, then the rest, 4 at a time.
   */
  async #loadAll(): Promise<void> {
    const store = this.#store
    if (!store) return
    const first = this.#visitBuckets(store)
    for (const i of first) void this.#watch(store, i)
    await store.loadAllCharts(4, { first })
    for (const i of store.layout.chartBuckets.keys()) void this.#watch(store, i)
  }

  /** The buckets of the patients the index says have an open visit. */
  #visitBuckets(store: ClinicStore<ChartCollection>): number[] {
    return [...new Set([...store.openVisits.keys()].map((p) => store.bucketIndexOf(p)))]
  }

  async #watch(store: ClinicStore<ChartCollection>, bucket: number): Promise<void> {
    const url = store.layout.chartBuckets[bucket]
    if (!url || this.#watched.has(url)) return
    this.#watched.set(url, undefined)
    const h = await findDoc<ChartCollection>(this.#repo, url)
    this.#watched.set(url, h)
    this.refused.watch(h)
    // heads-changed, not change: resolving a conflict in favour of the value already shown changes no
    // visible value (no patch, no 'change' event) but must still clear its review marker
    h.on('heads-changed', () => {
      this.#changed.add(bucket) // a visit opened here shows in the queue before the index says so
      this.version++
    })
    this.version++
  }

  search(query: string): PatientSummary[] {
    void this.version
    if (!this.#store || !query.trim()) return []
    return this.#store.search(query, { limit: 20 })
  }

  summary(pid: string): PatientSummary | undefined {
    void this.version
    return this.#store?.index.get(pid)
  }

  possibleDuplicates(input: {
    given: string
    family: string
    birthDate: string
    sex: string
    identifiers: string[]
  }): PatientSummary[] {
    void this.version
    const store = this.#store
    if (!store) return []
    const probe: PatientSummary = { id: '__probe__', updatedAt: '', ...input }
    const keys = new Set(duplicateKeysOf(probe))
    const found = new Map<string, PatientSummary>()
    const queries = [
      `${input.given} ${input.family}`,
      ...input.identifiers.map((i) => i.slice(i.indexOf('|') + 1)),
    ]
    for (const q of queries) {
      if (!q.trim()) continue
      for (const s of store.search(q, { limit: 50 }))
        if (duplicateKeysOf(s).some((k) => keys.has(k))) found.set(s.id, s)
    }
    return [...found.values()]
  }

  async bucket(pid: string): Promise<DocHandle<ChartCollection>> {
    const store = await this.#ready()
    const h = await store.bucketFor(pid)
    void this.#watch(store, store.bucketIndexOf(pid))
    return h
  }

  /** Applies a records helper to one patient's chart (writes go to the browser repo first). */
  async change(pid: string, fn: (chart: Chart) => void): Promise<void> {
    await (
      await this.#ready()
    ).change(pid, (d) => {
      const chart = d.charts[pid]
      if (!chart) throw new Error(`no chart for ${pid}`)
      fn(chart)
    })
  }

  async register(
    input: Omit<RegisterPatientInput, 'id'>,
    reason: string,
    actor: Actor,
  ): Promise<{ pid: PatientId; eid: string }> {
    const pid = newId<PatientId>('pt')
    let eid = ''
    await (
      await this.#ready()
    ).change(pid, (d) => {
      registerPatient(d, { ...input, id: pid }, actor)
      const chart = d.charts[pid]
      if (chart && reason.trim()) eid = openEncounter(chart, { reason }, actor)
    })
    return { pid, eid }
  }

  async openVisit(pid: string, reason: string, actor: Actor): Promise<string> {
    let eid = ''
    await this.change(pid, (chart) => {
      eid = openEncounter(chart, { reason }, actor)
    })
    return eid
  }

  /** A patient's chart from the local bucket (undefined until the bucket is local; starts loading it). */
  chart(pid: string): Chart | undefined {
    void this.version
    const store = this.#store
    if (!store) return undefined
    const url = store.layout.chartBuckets[store.bucketIndexOf(pid)]
    const h = url ? this.#watched.get(url) : undefined
    if (!h) {
      void this.bucket(pid)
      return undefined
    }
    return h.doc().charts[pid]
  }

  /** Fields of this chart where two devices wrote different values concurrently. */
  reviewMarkers(pid: string): ReviewMarker[] {
    void this.version
    const store = this.#store
    const url = store?.layout.chartBuckets[store.bucketIndexOf(pid)]
    const h = url ? this.#watched.get(url) : undefined
    return h ? needsReview(h.doc(), { patientIds: [pid] }) : []
  }

  /** Keeps one of the competing values of a review marker (records `resolveReview`). */
  async resolve(
    pid: string,
    marker: ReviewMarker,
    value: string | number | boolean,
    actor: Actor,
  ): Promise<void> {
    const handle = await this.bucket(pid)
    let emitted = false
    const seen = (): void => {
      emitted = true
    }
    handle.once('change', seen)
    await (await this.#ready()).change(pid, (d) => resolveReview(d, marker, value, actor))
    handle.off('change', seen)
    // Keeping the value already shown writes a new op but changes no visible value: Automerge reports no patch,
    // DocHandle emits no 'change', and automerge-repo's DocSynchronizer (which syncs on 'change' only) would not
    // send it until the next edit of this bucket. Announce it so other tablets clear their marker now.
    if (!emitted) {
      const doc = handle.doc()
      handle.emit('change', {
        handle,
        doc,
        patches: [],
        patchInfo: { before: doc, after: doc, source: 'change' },
      })
    }
  }

  /**
   * Pairs of charts that look like one person (same identifier, or same name, birth date and sex), e.g. registered
   * on two tablets while they were apart; `linked` once someone recorded that they are the same person.
   */
  duplicatePairs(): DuplicatePair[] {
    void this.version
    const store = this.#store
    if (!store) return []
    const seen = new Set<string>()
    const out: DuplicatePair[] = []
    for (const group of store.index.duplicateGroups()) {
      for (let i = 0; i < group.length; i++) {
        for (let j = i + 1; j < group.length; j++) {
          const [a, b] = [store.index.get(group[i]!), store.index.get(group[j]!)]
          if (!a || !b || seen.has(`${a.id}|${b.id}`)) continue
          seen.add(`${a.id}|${b.id}`)
          const bucket = this.#loaded(a.id)
          out.push({ a, b, linked: bucket !== undefined && areLinked(bucket, a.id, b.id) })
        }
      }
    }
    return out
  }

  /** Records that two charts are the same person, in the bucket of each (both charts stay; reversible). */
  async link(a: PatientId, b: PatientId, actor: Actor): Promise<void> {
    let id = ''
    await (await this.#ready()).change(a, (d) => (id = linkPatients(d, a, b, actor, { acrossBuckets: true })))
    await (await this.#ready()).change(b, (d) => linkPatients(d, b, a, actor, { acrossBuckets: true, id }))
  }

  /** Undoes `link`: the link stays on record as inactive, with who undid it and when. */
  async unlink(a: PatientId, b: PatientId, actor: Actor): Promise<void> {
    await (await this.#ready()).change(a, (d) => unlinkPatients(d, a, b, actor))
    await (await this.#ready()).change(b, (d) => unlinkPatients(d, a, b, actor))
  }

  #loaded(pid: string): ChartCollection | undefined {
    const store = this.#store
    const url = store?.layout.chartBuckets[store.bucketIndexOf(pid)]
    const h = url ? this.#watched.get(url) : undefined
    return h?.isReady() ? h.doc() : undefined
  }

  /**
   * The buckets today's queue and pick list read, as snapshots: those of the patients with an open visit (the index's
   * open visits, kept by the device node) and those that changed since the clinic opened, once held. Not every bucket:
   * a clinic of 10,000 charts would be read through on every change.
   */
  visitBuckets(): ChartCollection[] {
    void this.version
    const store = this.#store
    if (!store) return []
    const out: ChartCollection[] = []
    for (const i of new Set([...this.#visitBuckets(store), ...this.#changed])) {
      const url = store.layout.chartBuckets[i]
      const h = url ? this.#watched.get(url) : undefined
      if (h?.isReady()) out.push(h.doc())
      else if (url && !this.#watched.has(url)) void this.#watch(store, i) // a visit opened on another tablet
    }
    return out
  }

  /** The open store; a write asked for while the clinic still opens waits for it (`OPEN_WAIT_MS`). */
  #ready(): Promise<ClinicStore<ChartCollection>> {
    return this.#opened.wait(OPEN_WAIT_MS)
  }
}
