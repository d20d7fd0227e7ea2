export { ClinicStore } from './clinic-store.js'
export { ChartPull, pullOrder } from './chart-pull.js'
export type { PullOptions } from './chart-pull.js'
export type { BucketDoc } from './bucket-doc.js'
export type { BulkWrite, ClinicStoreInit, CreateClinicInit } from './clinic-store.js'
export { PatientIndex, duplicateKeysOf } from './patient-index.js'
export type { SearchOptions } from './patient-index.js'
export { encodeSummary, decodeSummary } from './summary-codec.js'
export type { PatientSummary } from './summary-codec.js'
export { INDEX_LAYOUT, packedOf } from './packed-value.js'
export type { PackedValue } from './packed-value.js'
export {
  LAYOUT,
  ARCHIVE_SHARDS,
  DEFAULT_CHART_BUCKETS,
  DEFAULT_INDEX_SHARDS,
  CHARTS_PER_BUCKET,
  MIN_CHART_BUCKETS,
  MAX_CHART_BUCKETS,
  chartBucketsFor,
  shardOf,
  isClinicRoot,
  rootLayout,
  rootUrlOf,
  TEXT_ROOT_LAYOUT,
  TODAY_LAYOUT,
} from './layout.js'
export type {
  ArchiveDoc,
  ArchiveEntry,
  ClinicRootDoc,
  IndexShardDoc,
  RootLayout,
  RootUrl,
  TodayDoc,
} from './layout.js'
export { LayoutError, SummaryCodecError, UnknownPatientError } from './errors.js'
export { normalize, tokens } from './normalize.js'
export { findDoc, flushReady } from './find.js'
export { freshSyncCount, reuseSyncPatches, setFreshSync, wholePatches } from './pinned/sync-patches.js'
export { fastLoadCount, installFastLoad } from './pinned/fast-load.js'
export { putWhole, wholePutCount } from './pinned/whole-puts.js'
export { AUTOMERGE_PINNED, automergeHookInternals, installAutomergeHooks } from './pinned/index.js'
export { HEADS_MEMO_MAX, headsMemoStats, memoizeHeadsEncoding } from './pinned/heads-memo.js'
export { ArchiveShelf, archiveDocumentId, initialArchive } from './archive-shelf.js'
export type { ArchiveShelfInit, ArchiveWhereabouts } from './archive-shelf.js'
export { archiveClosedVisits } from './archive-run.js'
export type { ArchivePolicy, ArchiveReport, VisitToArchive } from './archive-run.js'
export {
  TodayDocs,
  TODAY_MAX_ENTRIES,
  dayKey,
  initialToday,
  readTodayEntry,
  todayDocumentId,
  todayEntry,
} from './today-docs.js'
export type { TodayInit } from './today-docs.js'
export { SYNC_STATE_WRITE_MS, SyncStateWriteBehind } from './sync-state-write-behind.js'
