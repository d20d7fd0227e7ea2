import type { AutomergeUrl } from '@automerge/automerge-repo'

/** Layout version of the clinic root. A new layout is a migration, never an in-place reinterpretation. */
export const LAYOUT = 'clinic-mesh/layout/1'

/**
 * The clinic root: the one document a device must know (its URL comes with enrolment). It names every
 * other document of the layout, which also answers "what does this clinic hold" (the nodefs storage
 * adapter cannot list its keys).
 */
export interface ClinicRootDoc {
  layout: typeof LAYOUT
  clinic: string
  createdAt: string
  /** Documents of packed patient summaries: the searchable index, synced first. */
  indexShards: AutomergeUrl[]
  /** Documents holding full charts, a fixed share of patients each, opened on demand. */
  chartBuckets: AutomergeUrl[]
  /** Repo peer id → when that device first held every chart bucket (drives the announce policy). */
  bootstrapped?: { [peerId: string]: string }
}

/** One index shard: patient id → packed summary (see summary-codec). */
export interface IndexShardDoc {
  layout: 'index/1'
  summaries: { [patientId: string]: string }
  /**
   * Patient id → the chart's open visits, packed (records' `encodeOpenVisits`); absent when none. The day's queue
   * reads these, so a restarting device shows it without opening any chart bucket. Absent in shards made before it.
   */
  visits?: { [patientId: string]: string }
}

/** Default shard counts: 10,000 patients → ~625 summaries per shard, ~156 charts per bucket. */
export const DEFAULT_INDEX_SHARDS = 16
export const DEFAULT_CHART_BUCKETS = 64

/** FNV-1a over the id's UTF-16 units: stable, fast, spreads random ids evenly. */
export function shardOf(id: string, shards: number): number {
  let h = 0x811c9dc5
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0) % shards
}

export function isClinicRoot(doc: unknown): doc is ClinicRootDoc {
  if (typeof doc !== 'object' || doc === null) return false
  const d = doc as Partial<ClinicRootDoc>
  return d.layout === LAYOUT && Array.isArray(d.indexShards) && Array.isArray(d.chartBuckets)
}
