import type { AutomergeUrl, DocHandle, DocHandleChangePayload, Repo } from '@automerge/automerge-repo'
import { findDoc } from './find.js'
import type { Doc } from '@automerge/automerge'
import type { CachedShard } from './index-cache.js'
import { shardOf, type IndexShardDoc } from './layout.js'
import { groupBy, nextTurn } from './next-turn.js'
import { packedFor, packedOf } from './packed-value.js'
import { PatientIndex } from './patient-index.js'
import { releaseAllPatches, releaseLatestPatches } from './pinned/release-patches.js'
import { decodeSummary, encodeSummary, type PatientSummary } from './summary-codec.js'

/** What the index shards hold of one chart: its summary, and its open visits packed (none: undefined). */
export interface Derived {
  summary: PatientSummary
  visits: string | undefined
}

/**
 * The index shards of a clinic and what this device reads from them: the patient index (search) and each patient's
 * open visits (the day's queue). Both answer without any chart bucket: a device restarting holds the shards only.
 * `write` false (a browser): derived values go to this device's own maps, never into the shards (node-written).
 */
export class IndexShards {
  readonly index = new PatientIndex()
  /** Patient id → packed open visits (records' `encodeOpenVisits`), for patients with any. */
  readonly visits = new Map<string, string>()
  readonly #shards: DocHandle<IndexShardDoc>[] = []
  readonly #write: boolean
  /** How many shards the layout has (some may not be attached yet). */
  readonly #count: number

  /**
   * From loaded shards; or, with `cached` (a saved copy, see IndexCache), answering from the copy at once while the
   * shards load: `attach` each shard as it arrives, and it replaces what the copy said of that shard.
   */
  constructor(shards: DocHandle<IndexShardDoc>[], write: boolean, cached?: CachedShard[]) {
    this.#write = write
    this.#count = cached?.length ?? shards.length
    for (const c of cached ?? []) {
      for (const [id, packed] of Object.entries(c.summaries)) this.index.upsert(decodeSummary(id, packed))
      for (const [id, packed] of Object.entries(c.visits)) this.visits.set(id, packed)
    }
    shards.forEach((shard, i) => this.attach(i, shard, undefined))
  }

  /** Shard `i` is loaded: its contents replace those of the saved copy (`cached`, that shard's part of it). */
  attach(i: number, shard: DocHandle<IndexShardDoc>, cached: CachedShard | undefined): void {
    this.#shards[i] = shard
    const doc = shard.doc()
    releaseAllPatches(doc)
    if (!cached) this.#readAll(doc)
    else {
      for (const id of Object.keys(cached.summaries))
        if (doc.summaries[id] === undefined) this.index.remove(id)
      for (const id of Object.keys(cached.visits)) if (doc.visits?.[id] === undefined) this.visits.delete(id)
      for (const [id, packed] of Object.entries(doc.summaries))
        if (cached.summaries[id] !== packedOf(packed)) this.index.upsert(decodeSummary(id, packed))
      this.#readVisits(doc)
    }
    shard.on('change', (p) => this.#onChange(p))
  }

  /**
   * Finds each shard once `start` resolves (a today-first open defers them: see `ClinicStore.open`) and attaches it in
   * place of its part of `cached`; resolves once every one is attached.
   */
  async load(
    repo: Repo,
    urls: readonly AutomergeUrl[],
    cached: CachedShard[],
    start: Promise<void>,
    signal?: AbortSignal,
  ): Promise<void> {
    await start
    const opts = signal ? { signal } : {}
    await Promise.all(
      urls.map((url, i) => findDoc<IndexShardDoc>(repo, url, opts).then((h) => this.attach(i, h, cached[i]))),
    )
  }

  /** The heads of every shard, as one string (what a saved copy was taken at). */
  heads(): string {
    return this.#shards.map((h) => h.heads().join(',')).join(';')
  }

  /** What the shards hold now, for the saved copy. */
  snapshot(): CachedShard[] {
    return this.#shards.map((h) => {
      const doc = h.doc()
      return { summaries: plain(doc.summaries), visits: plain(doc.visits ?? {}) }
    })
  }

  /**
   * Writes derived values: each touched shard takes one change holding all of its entries that differ from what it
   * holds (N patients cost at most one change per shard).
   */
  write(entries: Iterable<[string, Derived]>): void {
    const byShard = new Map<number, [string, Derived][]>()
    for (const [id, d] of entries) {
      if (!this.#write) {
        this.index.upsert(d.summary)
        this.#setVisits(id, d.visits)
        continue
      }
      const s = shardOf(id, this.#count)
      let list = byShard.get(s)
      if (!list) byShard.set(s, (list = []))
      list.push([id, d])
    }
    for (const [s, list] of byShard) {
      const shard = this.#shards[s]
      if (!shard) continue
      // what differs, read from the document as it is (the change below follows at once): inside the change each
      // read would go through Automerge's proxies, a WebAssembly call each (~40 % of a bulk write's shard changes)
      const now = shard.doc()
      const summaries: [string, string][] = []
      const visits: [string, string | undefined][] = []
      for (const [id, d] of list) {
        const packed = encodeSummary(d.summary)
        if (packedOf(now.summaries[id]) !== packed) summaries.push([id, packed])
        if (packedOf(now.visits?.[id]) !== d.visits) visits.push([id, d.visits])
      }
      if (summaries.length === 0 && visits.length === 0) continue
      const layout = now.layout
      shard.change((doc) => {
        const into = doc.summaries
        for (const [id, packed] of summaries) into[id] = packedFor(layout, packed)
        if (visits.length === 0) return
        // a layout from before open visits: the map comes with the first (read back: the proxy, not the plain {})
        if (!doc.visits) doc.visits = {}
        const open = doc.visits
        for (const [id, packed] of visits)
          if (packed === undefined) delete open[id]
          else open[id] = packedFor(layout, packed)
      })
      releaseLatestPatches(shard.doc())
    }
  }

  /** `write`, one shard's change at a time, the event loop running between them (a bulk write lets others in). */
  async writeInTurns(entries: Iterable<[string, Derived]>): Promise<void> {
    for (const list of groupBy(entries, (e) => shardOf(e[0], this.#count)).values()) {
      await nextTurn()
      this.write(list)
    }
  }

  #setVisits(id: string, packed: string | undefined): void {
    if (packed === undefined) this.visits.delete(id)
    else this.visits.set(id, packed)
  }

  #onChange({ doc, patches }: DocHandleChangePayload<IndexShardDoc>): void {
    releaseLatestPatches(doc)
    const touched = new Set<string>()
    const visits = new Set<string>()
    for (const p of patches) {
      const [top, id] = p.path
      if (top === 'summaries' && typeof id === 'string') touched.add(id)
      if (top === 'visits' && typeof id === 'string') visits.add(id)
      if (top === 'visits' && id === undefined) for (const v of Object.keys(doc.visits ?? {})) visits.add(v)
    }
    if (touched.size > 500) this.#readAll(doc)
    else
      for (const id of touched) {
        const packed = doc.summaries[id]
        if (packed === undefined) this.index.remove(id)
        else this.index.upsert(decodeSummary(id, packed))
      }
    for (const id of visits) this.#setVisits(id, packedOf(doc.visits?.[id]))
  }

  #readAll(doc: Doc<IndexShardDoc>): void {
    for (const [id, packed] of Object.entries(doc.summaries)) this.index.upsert(decodeSummary(id, packed))
    this.#readVisits(doc)
  }

  #readVisits(doc: Doc<IndexShardDoc>): void {
    for (const [id, packed] of Object.entries(doc.visits ?? {})) this.#setVisits(id, packedOf(packed))
  }
}

/** A shard's map of packed values as plain strings (the saved copy's form). */
function plain(map: { [id: string]: unknown }): { [id: string]: string } {
  const out: { [id: string]: string } = {}
  for (const [id, v] of Object.entries(map)) {
    const s = packedOf(v)
    if (s !== undefined) out[id] = s
  }
  return out
}
