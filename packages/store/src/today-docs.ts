import * as A from '@automerge/automerge'
import { interpretAsDocumentId, type DocHandle, type DocumentId, type Repo } from '@automerge/automerge-repo'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'
import { TODAY_LAYOUT, shardOf, type ClinicRootDoc, type TodayDoc } from './layout.js'
import { releaseLatestPatches } from './pinned/release-patches.js'
import type { CachedShard } from './index-cache.js'
import type { Derived } from './index-shards.js'
import { packedOf } from './packed-value.js'
import { decodeSummary, encodeSummary } from './summary-codec.js'

/** The actor of every today document's first change: the same bytes on every device (see `initialToday`). */
const TODAY_ACTOR = bytesToHex(sha256(utf8ToBytes('clinic-mesh/today/1')).slice(0, 16))

/** Entries a reader takes from one today document at most (a day's queue is tens to hundreds of patients). */
export const TODAY_MAX_ENTRIES = 5_000

/** How long a today entry is held back before it is written (batches a bulk write; off a registration's path). */
export const TODAY_WRITE_DELAY_MS = 50

/** How long a today-first open waits for a peer's today document before it goes on without (ms). */
export const TODAY_WAIT_MS = 3_000

/** A device's calendar day `YYYY-MM-DD` in its local time (what the day's queue, records' `queueOf`, counts by). */
export function dayKey(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`
}

/** The id of a clinic's today document of `day`: 16 bytes of SHA-256 over the clinic id, 'today' and the day. */
export function todayDocumentId(clinic: string, day: string): DocumentId {
  const bytes = sha256(utf8ToBytes(`${clinic}\u0000today\u0000${day}`)).slice(0, 16)
  return interpretAsDocumentId(bytes as Parameters<typeof interpretAsDocumentId>[0])
}

/**
 * The first change of a today document, identical on every device (fixed actor, time 0): devices that each begin the
 * day's document create the same one, and their entries merge into it.
 */
export function initialToday(day: string): Uint8Array {
  const doc = A.change(A.init<TodayDoc>({ actor: TODAY_ACTOR }), { time: 0 }, (d) => {
    d.layout = TODAY_LAYOUT
    d.day = day
    d.visits = {}
  })
  return A.save(doc)
}

/**
 * A patient's entry in the today document of `day`: the packed summary and open visits (the index shards' values) if
 * one of the open visits arrived on `day` (`arrivals`: the visits' arrival instants), else none. A pure function of
 * the chart, so devices repairing it converge, as on the shards.
 */
export function todayEntry(
  { summary, visits }: Derived,
  day: string,
  arrivals: (visits: string) => readonly string[],
): string | undefined {
  if (visits === undefined) return undefined
  const today = arrivals(visits).some((at) => {
    const t = new Date(at)
    return !Number.isNaN(t.getTime()) && dayKey(t) === day
  })
  return today ? JSON.stringify(['t1', encodeSummary(summary), visits]) : undefined
}

/** An entry read back, checked: a malformed one (any writer's) is skipped, never trusted. */
export function readTodayEntry(
  patientId: string,
  value: unknown,
): { summary: string; visits: string } | undefined {
  const packed = packedOf(value)
  if (packed === undefined || packed.length > 16_384) return undefined
  try {
    const e = JSON.parse(packed) as unknown
    if (!Array.isArray(e) || e.length !== 3 || e[0] !== 't1') return undefined
    const [, summary, visits] = e as unknown[]
    if (typeof summary !== 'string' || typeof visits !== 'string') return undefined
    decodeSummary(patientId, summary) // throws on anything but a packed summary
    return { summary, visits }
  } catch {
    return undefined
  }
}

/** The `visits` map of a today document, if it has one (a writer controls the shape: checked, not assumed). */
function visitsOf(doc: TodayDoc | undefined): TodayDoc['visits'] | undefined {
  const v = (doc as { visits?: unknown } | undefined)?.visits
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as TodayDoc['visits']) : undefined
}

export interface TodayInit {
  /** The open visits' arrival instants from their packed form (records' `decodeOpenVisits`); none: no today docs. */
  arrivals?: (visits: string) => readonly string[]
  /** The device clock (tests). */
  now?: () => Date
}

/**
 * The clinic's today documents as one device sees them (issue 17 #4, today first): one small document per calendar
 * day holding the entries of the patients whose open visits arrived that day (`todayEntry`), which a joining tablet
 * reads before the index shards: it shows the day's queue and searches today's patients at once, and pulls exactly
 * their chart buckets first. A node writes the current day's document beside the shards (`write`), with the same
 * derived values, and repairs it with them; yesterday's document is never written again, so each document's history
 * is one day's. Ids are derived (`todayDocumentId`), so the root only says that the clinic keeps them (`today`).
 */
export class TodayDocs {
  readonly #repo: Repo
  readonly #root: DocHandle<ClinicRootDoc>
  readonly #init: TodayInit
  readonly #write: boolean
  #day = ''
  #handle: DocHandle<TodayDoc> | undefined
  #opening: Promise<DocHandle<TodayDoc>> | undefined
  /** Entries held back (`write`): patient id → latest derived values. */
  readonly #queued = new Map<string, Derived>()
  #timer: ReturnType<typeof setTimeout> | undefined
  #settled: (() => void)[] = []

  constructor(repo: Repo, root: DocHandle<ClinicRootDoc>, init: TodayInit, write: boolean) {
    this.#repo = repo
    this.#root = root
    this.#init = init
    this.#write = write && init.arrivals !== undefined
  }

  /**
   * A store's today documents as it opens (`ClinicStore.open`). A node that writes them says so in the root of a clinic
   * made before them (the same value on every device). `todayFirst`, in a clinic that keeps them, on a device with no
   * saved copy of the shards (`saved`: a joining tablet): waits for today's document and answers from its entries
   * while the shards load. A device with a saved copy (a restart) answers from that copy at once: it never waits on a
   * peer for the day's document (a lone tablet's first start of a day would wait `TODAY_WAIT_MS` for nobody).
   * A node that writes them begins opening today's document.
   */
  static async atOpen(
    repo: Repo,
    root: DocHandle<ClinicRootDoc>,
    init: { today?: TodayInit; writeSummaries?: boolean; todayFirst?: boolean; signal?: AbortSignal },
    saved: CachedShard[] | undefined,
  ): Promise<{ today: TodayDocs; cached: CachedShard[] | undefined; joining: boolean }> {
    const today = new TodayDocs(repo, root, init.today ?? {}, init.writeSummaries !== false)
    if (today.#write && !today.kept) root.change((d) => void (d.today = TODAY_LAYOUT))
    if (init.todayFirst && today.kept && saved === undefined) {
      // a day's document no peer answers for within a moment is begun here (entries merge in when they come)
      const wait = AbortSignal.timeout(TODAY_WAIT_MS)
      await today.open(init.signal ? AbortSignal.any([init.signal, wait]) : wait)
      const empty = root.doc().indexShards.map(() => ({ summaries: {}, visits: {} }))
      return { today, cached: withToday(empty, today), joining: true }
    }
    if (today.#write) void today.open()
    return { today, cached: saved, joining: false }
  }

  /** Whether this clinic keeps today documents (its root says so). */
  get kept(): boolean {
    return this.#root.doc().today === TODAY_LAYOUT
  }

  /** This device's calendar day now. */
  get day(): string {
    return dayKey(this.#init.now?.() ?? new Date())
  }

  /** The day of a today document of this clinic (yesterday, today or tomorrow here), if `id` is one. */
  placeOf(id: DocumentId): string | undefined {
    const now = (this.#init.now?.() ?? new Date()).getTime()
    const clinic = this.#root.doc().clinic
    for (const offset of [0, -1, 1]) {
      const day = dayKey(new Date(now + offset * 86_400_000))
      if (todayDocumentId(clinic, day) === id) return day
    }
    return undefined
  }

  /**
   * The current day's document: from memory or storage, else from a peer, else begun here from its first change
   * (no reachable peer has it yet, or `signal` gave up waiting). Resolves undefined if the clinic keeps none.
   */
  open(signal?: AbortSignal): Promise<DocHandle<TodayDoc> | undefined> {
    if (!this.kept) return Promise.resolve(undefined)
    const day = this.day
    if (day === this.#day && this.#opening) return this.#opening
    this.#day = day
    this.#handle = undefined
    const opening = this.#find(day, signal).then((h) => {
      if (this.#day === day) {
        this.#handle = h
        this.flush()
      }
      return h
    })
    this.#opening = opening
    return opening
  }

  /** The entries of the current day's document, checked (empty until it is open). */
  entries(): [string, { summary: string; visits: string }][] {
    const out: [string, { summary: string; visits: string }][] = []
    for (const [id, packed] of Object.entries(visitsOf(this.#handle?.doc()) ?? {})) {
      if (out.length >= TODAY_MAX_ENTRIES) break
      const e = readTodayEntry(id, packed)
      if (e) out.push([id, e])
    }
    return out
  }

  /**
   * Writes the today entries of these patients (their derived values, as the shards take them) into the current day's
   * document: held back `TODAY_WRITE_DELAY_MS`, off the write's own path (a registration answers after its bucket
   * and shard), then one change for every held entry that differs from what the document holds (the latest value of
   * each patient). Nothing on a device that does not write derived data or in a clinic that keeps no today documents.
   */
  write(entries: Iterable<[string, Derived]>): void {
    if (!this.#write || !this.kept) return
    for (const [id, d] of entries) this.#queued.set(id, d)
    if (this.#timer !== undefined || this.#queued.size === 0) return
    this.#timer = setTimeout(() => this.flush(), TODAY_WRITE_DELAY_MS)
    if (typeof this.#timer === 'object' && 'unref' in this.#timer) this.#timer.unref()
  }

  /** Writes the held entries now (once today's document is open: else when it is). */
  flush(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#queued.size === 0) return
    const day = this.day
    if (day !== this.#day || !this.#handle) {
      if (day !== this.#day || !this.#opening) void this.open() // flushes once open
      return
    }
    const entries = [...this.#queued]
    this.#queued.clear()
    try {
      this.#apply(this.#handle, day, entries)
    } finally {
      for (const resolve of this.#settled.splice(0)) resolve()
    }
  }

  /** Resolves once no entry is held back (written, or found equal to what the document holds). */
  settled(): Promise<void> {
    if (this.#queued.size === 0) return Promise.resolve()
    return new Promise((resolve) => this.#settled.push(resolve))
  }

  #apply(h: DocHandle<TodayDoc>, day: string, entries: [string, Derived][]): void {
    const now = visitsOf(h.doc())
    if (!now) return // not a today document's shape (its writer's doing): nothing written into it
    const changed: [string, string | undefined][] = []
    for (const [id, d] of entries) {
      const entry = todayEntry(d, day, this.#init.arrivals!)
      const held = now[id]
      if ((packedOf(held) ?? held) !== entry) changed.push([id, entry]) // a malformed value is replaced too
    }
    if (changed.length === 0) return
    h.change((d) => {
      for (const [id, entry] of changed) {
        if (entry === undefined) delete d.visits[id]
        else d.visits[id] = new A.ImmutableString(entry)
      }
    })
    releaseLatestPatches(h.doc())
  }

  async #find(day: string, signal?: AbortSignal): Promise<DocHandle<TodayDoc>> {
    const id = todayDocumentId(this.#root.doc().clinic, day)
    const known = this.#repo.handles[id] as DocHandle<TodayDoc> | undefined
    if (known?.isReady()) return known
    try {
      const opts = signal ? { signal } : {}
      const h = await this.#repo.find<TodayDoc>(id, { allowableStates: ['ready', 'unavailable'], ...opts })
      if (h.isReady()) return h
    } catch {
      // gave up waiting (signal): begin it here, a peer's entries merge in when they come
    }
    return this.#repo.import<TodayDoc>(initialToday(day), { docId: id })
  }
}

/** A saved copy of the shards (or empty ones) with today's entries in: what a today-first open answers from. */
export function withToday(cached: CachedShard[], today: TodayDocs): CachedShard[] {
  const out = cached.map((c) => ({ summaries: { ...c.summaries }, visits: { ...c.visits } }))
  for (const [id, e] of today.entries()) {
    const s = out[shardOf(id, out.length)]!
    s.summaries[id] = e.summary
    s.visits[id] = e.visits
  }
  return out
}
