import type { ChartCollection } from '@clinic-mesh/records'
import { ChartPull, type ClinicStore } from '@clinic-mesh/store'
import { log } from './log.js'

/**
 * Which chart buckets a device node holds in memory (issue 17: cold start, memory on a tablet).
 *
 * Search reads the index shards and the day's queue the shards' open visits, so a device that already holds every
 * bucket on its disk (bootstrapped: its peer id is in the root's `bootstrapped` map) opens none at start: a bucket
 * opens when a request needs it or a peer or browser syncs it, and goes back to disk once idle for `idleMs`. A device
 * that does not hold them yet (a new tablet) pulls every bucket, 4 at a time (P1: 421 MB peak at 10,000 charts), each written to disk and dropped
 * from memory once local. The index shards' contents are saved (`saveIndexCache`) now and, when they changed, at every
 * sweep: the next start answers search and the queue from that copy while the shards load. Returns the sweep's timer.
 */
export function keepBucketsLazy(
  store: ClinicStore<ChartCollection>,
  self: string,
  idleMs: number,
  onPull: (pull: ChartPull) => void = () => undefined,
): NodeJS.Timeout {
  if (store.isBootstrapped(self)) {
    log('charts-on-disk', { buckets: store.layout.chartBuckets.length })
    void store.indexReady // a today-first open waits for this (or today's buckets) to load the shards
  } else void pullTodayFirst(store).then(onPull)
  const saveIndex = (): void =>
    void store
      .saveIndexCache()
      .catch((err: unknown) =>
        log('index-cache-failed', { error: err instanceof Error ? err.name : 'unknown' }),
      )
  saveIndex()
  const timer = setInterval(
    () => {
      saveIndex()
      void store.releaseIdle(idleMs).then(
        (n) => n > 0 && log('charts-released', { buckets: n, held: store.loadedBuckets }),
        (err: unknown) =>
          log('charts-release-failed', { error: err instanceof Error ? err.name : 'unknown' }),
      )
    },
    Math.max(1_000, Math.min(idleMs, 30_000)),
  )
  timer.unref()
  return timer
}

/**
 * A new tablet's pull, today first (issue 17 #4): the buckets of today's patients as today's document names them come
 * at once, while the index shards load (kept in memory: the day's work); then, once the shards are local, the buckets
 * of any other open visit (a clinic without today documents: all of them), then the rest, as many at once as the
 * store's `pullWidth()` (by bucket size), each dropped from memory once on disk. Resolves with the pull's progress as
 * soon as it starts (the status bar shows it).
 */
async function pullTodayFirst(store: ClinicStore<ChartCollection>): Promise<ChartPull> {
  const bucketsOf = (pids: Iterable<string>): number[] => [
    ...new Set([...pids].map((p) => store.bucketIndexOf(p))),
  ]
  // today's patients as today's document names them (a join), or the open visits of the saved copy (a restart mid-join)
  const early = store.today.kept ? bucketsOf(store.openVisits.keys()) : undefined
  if (early === undefined) await store.indexReady
  const pull = new ChartPull(store.layout.chartBuckets.length, early ?? bucketsOf(store.openVisits.keys()))
  let logged = pull.todayMs !== undefined
  const onBucket = (i: number): void => {
    pull.done(i)
    if (!logged && pull.todayMs !== undefined) {
      logged = true
      log('charts-today-loaded', {
        from: early === undefined ? 'index' : 'today-doc',
        buckets: pull.today.size,
        done: pull.progress.done,
        total: pull.total,
        ms: Math.round(pull.todayMs),
      })
    }
  }
  void (async () => {
    if (early !== undefined) await store.pullToday(onBucket)
    await store.indexReady
    log('index-shards-loaded', { patients: store.index.size })
    const first = bucketsOf(store.openVisits.keys())
    await store.loadAllCharts(undefined, { release: true, first, onBucket })
  })().then(
    () => log('charts-loaded', { buckets: pull.total, ms: Math.round(pull.allMs ?? 0) }),
    (err: unknown) => log('charts-load-failed', { error: err instanceof Error ? err.name : 'unknown' }),
  )
  return pull
}
