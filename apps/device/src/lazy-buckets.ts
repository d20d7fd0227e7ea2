import type { ChartCollection } from '@clinic-mesh/records'
import type { ClinicStore } from '@clinic-mesh/store'
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
): NodeJS.Timeout {
  if (store.isBootstrapped(self)) log('charts-on-disk', { buckets: store.layout.chartBuckets.length })
  else
    void store.loadAllCharts(4, { release: true }).then(
      () => log('charts-loaded', { buckets: store.layout.chartBuckets.length }),
      (err: unknown) => log('charts-load-failed', { error: err instanceof Error ? err.name : 'unknown' }),
    )
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
