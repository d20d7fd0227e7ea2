import type { ImmutableString } from '@automerge/automerge'
import type { AutomergeUrl, DocumentId } from '@automerge/automerge-repo'
import { packedOf, type IndexLayout, type PackedValue } from './packed-value.js'

/**
 * Layout version of the clinic root a new clinic gets: `indexShards` and `chartBuckets` hold each URL as an Automerge
 * scalar (`ImmutableString`, one op). A new layout is a migration, never an in-place reinterpretation: a device of an
 * older version refuses this root (`LayoutError`) rather than read its scalar URLs as none.
 */
export const LAYOUT = 'clinic-mesh/layout/2'
/**
 * The root layout of clinics made before `LAYOUT`, still read (and written: `bootstrapped`, `archives`, `today` are the
 * same in both): its URLs are Automerge text, one op per character (1,024 bucket URLs: ~40,000 ops to sync and load).
 */
export const TEXT_ROOT_LAYOUT = 'clinic-mesh/layout/1'

/** A URL in a root's lists: a scalar in `LAYOUT` roots, text in `TEXT_ROOT_LAYOUT` ones (read with `rootUrlOf`). */
export type RootUrl = AutomergeUrl | ImmutableString

/**
 * The clinic root as stored: the one document a device must know (its URL comes with enrolment). It names every
 * other document of the layout, which also answers "what does this clinic hold" (the nodefs storage
 * adapter cannot list its keys). Read it through `rootLayout` (its URLs as strings whatever their form).
 */
export interface ClinicRootDoc {
  layout: typeof LAYOUT | typeof TEXT_ROOT_LAYOUT
  clinic: string
  createdAt: string
  /** Documents of packed patient summaries: the searchable index, synced first. */
  indexShards: RootUrl[]
  /** Documents holding full charts, a fixed share of patients each, opened on demand. */
  chartBuckets: RootUrl[]
  /** Repo peer id → when that device first held every chart bucket (drives the announce policy). */
  bootstrapped?: { [peerId: string]: string }
  /**
   * Archive documents of closed visits by calendar year (issue 17 #3, history window; an optional field added to
   * layout 1, absent in clinics made before it): `ARCHIVE_SHARDS` documents a year, patient `p` in number
   * `shardOf(p, ARCHIVE_SHARDS)`. Their ids are derived from the clinic id, the year and the number
   * (`archiveDocumentId`), so every device writing a year writes the same list.
   */
  archives?: { [year: string]: AutomergeUrl[] }
  /**
   * Repo peer id → the first year of archives that peer holds (0: every year), written by the peer once it holds
   * them: archive documents of a year are announced only to peers holding that year (a tablet with a 1-year window is
   * never pushed older years, it asks for one when a user opens an archived visit).
   */
  archiveFrom?: { [peerId: string]: number }
  /**
   * `TODAY_LAYOUT` once this clinic's device nodes keep a today document per day (issue 17 #4, today first; an
   * optional field added to layout 1, absent in clinics made before it): a joining tablet reads it before the index
   * shards. Ids derived from the clinic id and the day (`todayDocumentId`): the root never lists them.
   */
  today?: typeof TODAY_LAYOUT
}

/** Format of the today documents (see `TodayDoc`). */
export const TODAY_LAYOUT = 'today/1'

/**
 * One day's today document: patient id → `t1` entry (JSON `["t1", packed summary, packed open visits]`: the index
 * shards' `summaries[id]` and `visits[id]`) for each patient with an open visit that arrived on `day` (local calendar
 * day, `YYYY-MM-DD`). Derived from the charts like the shards; the chart bucket is never in it (the reader derives
 * it from the patient id and the root). Each entry is an `ImmutableString`: one op (a plain string would be
 * Automerge text, an op per character).
 */
export interface TodayDoc {
  layout: typeof TODAY_LAYOUT
  day: string
  visits: { [patientId: string]: ImmutableString }
}

/** Archive documents per year. */
export const ARCHIVE_SHARDS = 16

/** One archived visit: whose it is and the whole visit as it was when archived. */
export interface ArchiveEntry {
  /** An Automerge scalar (`ImmutableString`): one op, not text. */
  patientId: ImmutableString
  encounter: unknown
}

/** One archive document: the closed visits of one year of a share of the patients, keyed by encounter id. */
export interface ArchiveDoc {
  layout: 'archive/1'
  year: number
  shard: number
  visits: { [encounterId: string]: ArchiveEntry }
}

/** One index shard: patient id → packed summary (see summary-codec). */
export interface IndexShardDoc {
  layout: IndexLayout
  summaries: { [patientId: string]: PackedValue }
  /**
   * Patient id → the chart's open visits, packed (records' `encodeOpenVisits`); absent when none. The day's queue
   * reads these, so a restarting device shows it without opening any chart bucket. Absent in shards made before it.
   */
  visits?: { [patientId: string]: PackedValue }
}

/**
 * Default shard counts, for a clinic made without an expected size (and every clinic made before `chartBucketsFor`):
 * 10,000 patients → ~625 summaries per shard, ~156 charts per bucket.
 */
export const DEFAULT_INDEX_SHARDS = 16
export const DEFAULT_CHART_BUCKETS = 64

/** Charts a bucket is sized for when the clinic's expected size is known (`chartBucketsFor`). */
export const CHARTS_PER_BUCKET = 10
/** Fewest and most chart buckets `chartBucketsFor` picks (the most: the largest count measured, bench P13). */
export const MIN_CHART_BUCKETS = 8
export const MAX_CHART_BUCKETS = 1024

/**
 * Chart buckets for a new clinic expected to hold `expectedCharts` charts (issue 17 #4, today first): the power of two
 * at or above `expectedCharts / CHARTS_PER_BUCKET`, from `MIN_CHART_BUCKETS` (a pop-up clinic of 50 patients: 8
 * documents) to `MAX_CHART_BUCKETS` (10,000 charts: 1,024 buckets of ~10). A joining tablet pulls the buckets holding
 * today's open visits first; the smaller the buckets, the fewer other charts come with them (bench P13, 10,000 charts, 40
 * open visits: 31 of 64 buckets = half the clinic, 40 of 1,024 = 4 %). The count is fixed at creation (the root
 * lists the buckets; a patient's bucket is `shardOf(id, count)`): a clinic that outgrows it keeps working with
 * bigger buckets, and a clinic made before this keeps its 64.
 */
export function chartBucketsFor(expectedCharts: number): number {
  const want = Math.max(1, expectedCharts) / CHARTS_PER_BUCKET
  let n = MIN_CHART_BUCKETS
  while (n < want && n < MAX_CHART_BUCKETS) n *= 2
  return n
}

/** FNV-1a over the id's UTF-16 units: stable, fast, spreads random ids evenly. */
export function shardOf(id: string, shards: number): number {
  let h = 0x811c9dc5
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0) % shards
}

/** A clinic root of a layout this version reads (`LAYOUT`, or `TEXT_ROOT_LAYOUT` made before it). */
export function isClinicRoot(doc: unknown): doc is ClinicRootDoc {
  if (typeof doc !== 'object' || doc === null) return false
  const d = doc as Partial<ClinicRootDoc>
  return (
    (d.layout === LAYOUT || d.layout === TEXT_ROOT_LAYOUT) &&
    Array.isArray(d.indexShards) &&
    Array.isArray(d.chartBuckets)
  )
}

/** The URL a root's list entry holds, whichever its form (undefined: not a URL's form; no check of the URL itself). */
export function rootUrlOf(value: unknown): string | undefined {
  return packedOf(value)
}

/** The clinic root as read: its lists of URLs as strings, whichever form the root stores them in. */
export type RootLayout = Omit<ClinicRootDoc, 'indexShards' | 'chartBuckets'> & {
  indexShards: AutomergeUrl[]
  chartBuckets: AutomergeUrl[]
}

const layouts = new WeakMap<object, RootLayout>()

/** `rootLayout` of a root (once per version of the document: Automerge documents are immutable snapshots). */
export function rootLayout(doc: ClinicRootDoc): RootLayout {
  let l = layouts.get(doc)
  if (!l) {
    const urls = (list: RootUrl[]): AutomergeUrl[] =>
      list.map((u) => (rootUrlOf(u) ?? '') as AutomergeUrl).filter((u) => u !== '')
    l = { ...doc, indexShards: urls(doc.indexShards), chartBuckets: urls(doc.chartBuckets) }
    layouts.set(doc, l)
  }
  return l
}

const URL_ID = /^automerge:(\w+)(?:#|$)/

/**
 * The document id of an Automerge URL as `parseAutomergeUrl` reads it, without decoding its checksum (1,024 bucket URLs
 * checksummed were ~30 ms of a joining tablet's open): for looking a document up by its id only. A URL whose checksum
 * is wrong gives an id no document has; opening it (`repo.find`) still checks it. Undefined: not a URL's form.
 */
export function documentIdOf(url: string): DocumentId | undefined {
  return URL_ID.exec(url)?.[1] as DocumentId | undefined
}
