import type { Doc } from '@automerge/automerge'
import type { ArchiveShelfInit } from './archive-shelf.js'
import type { BucketDoc } from './bucket-doc.js'
import type { NewClinicInit } from './clinic-documents.js'
import type { PatientSummary } from './summary-codec.js'
import type { TodayInit } from './today-docs.js'

/** The hook options of a store's init (only those it sets). */
export function hookOptions(init: { fastLoad?: boolean; freshSync?: boolean; wholePuts?: boolean }): {
  fastLoad?: boolean
  freshSync?: boolean
  wholePuts?: boolean
} {
  return {
    ...(init.fastLoad === undefined ? {} : { fastLoad: init.fastLoad }),
    ...(init.freshSync === undefined ? {} : { freshSync: init.freshSync }),
    ...(init.wholePuts === undefined ? {} : { wholePuts: init.wholePuts }),
  }
}

/**
 * One write of a bulk change: `fn` runs inside the change of the bucket holding `patientId`.
 *
 * `fresh`, if given, is what `fn` amounts to when that bucket has no chart of `patientId` yet: a new chart as one plain
 * value (`fn` would only assign `bucket.charts[patientId] = fresh()`). The store then calls it instead of `fn` and
 * puts every such chart of the bucket in one change of its own, before the others, its JS view built as `A.load` builds
 * a document (`pinned/whole-puts.ts`: half of Automerge's cost of a new chart). Same operations, same document. When
 * the bucket already holds the patient, or `fresh()` returns undefined, `fn` runs as usual.
 */
export interface BulkWrite<B extends BucketDoc> {
  patientId: string
  fn: (bucket: B) => void
  fresh?: () => object | undefined
}

export interface ClinicStoreInit<B extends BucketDoc> {
  /** Derives the searchable summary of one chart of a bucket; undefined if the bucket has no such chart. */
  summarize: (bucket: Doc<B>, patientId: string) => PatientSummary | undefined
  /**
   * Whether this store writes summaries into the index shards (default true). A browser does not: its device node
   * derives them from the charts it accepts (the shards are node-written, `@clinic-mesh/security` field policy);
   * the browser only updates its own in-memory index at once.
   */
  writeSummaries?: boolean
  /** Packs the open visits of one chart (records' `openVisitsOf` + `encodeOpenVisits`); undefined if none. */
  openVisits?: (bucket: Doc<B>, patientId: string) => string | undefined
  /** Load documents from storage as `A.load` does (default true; see pinned/fast-load.ts). The bench turns it off. */
  fastLoad?: boolean
  /** Build a document's first sync message as `A.load` does (default true; pinned/sync-patches.ts). The bench's off. */
  freshSync?: boolean
  /** Build a bulk write's new charts as `A.load` does (default true; pinned/whole-puts.ts). The bench's baseline: off. */
  wholePuts?: boolean
  /** This device's history window (archives it holds): see `ArchiveShelf`. Default: every year. */
  history?: ArchiveShelfInit
  /** How long a remote chart edit waits for its author's summary before this store repairs it (`DeferredRepairs`). */
  repairDelayMs?: number
  /** The today documents (issue 17 #4): how to read open visits' arrivals (without: none written), the clock. */
  today?: TodayInit
}

export interface CreateClinicInit<B extends BucketDoc> extends ClinicStoreInit<B>, NewClinicInit<B> {}
