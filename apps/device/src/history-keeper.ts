import type { Repo } from '@automerge/automerge-repo'
import { chartArchivePolicy, type ChartCollection } from '@clinic-mesh/records'
import { archiveClosedVisits, type ClinicStore } from '@clinic-mesh/store'
import { log } from './log.js'

/** How often a device holding every year runs an archiving pass; tests shorten it. */
const ARCHIVE_EVERY_MS = Number(process.env.CLINIC_MESH_ARCHIVE_EVERY_MS) || 24 * 3_600_000
/** The first pass waits this long after start: a restarting tablet answers and goes quiet first (issue 17 #1). */
const FIRST_PASS_MS = Math.min(ARCHIVE_EVERY_MS, 10 * 60_000)
/** A visit closed fewer days ago than this stays on its chart (a late correction needs no fetch). */
export const ARCHIVE_MIN_AGE_DAYS = 30

/**
 * The device's history window (issue 17 #3), once it holds every chart bucket: it fetches the archive documents of
 * the years it holds and says so in the root (from then on peers announce those years to it). A device holding every
 * year (the default) also runs an archiving pass a while after start and then daily: closed visits of past years leave
 * the charts for their year's archive. Returns what stops it.
 */
export function keepHistory(
  store: ClinicStore<ChartCollection>,
  repo: Repo,
  options: { everyYear: boolean; stopped: () => boolean },
): () => void {
  let timer: NodeJS.Timeout | undefined
  const pass = async (): Promise<void> => {
    if (options.stopped()) return
    const t0 = performance.now()
    const policy = chartArchivePolicy({ now: new Date(), minAgeDays: ARCHIVE_MIN_AGE_DAYS })
    const r = await archiveClosedVisits(store, policy, repo)
    log('visits-archived', {
      moved: r.moved,
      repaired: r.repaired,
      years: r.years.join(','),
      ms: Math.round(performance.now() - t0),
    })
  }
  const start = async (): Promise<void> => {
    while (!store.isBootstrapped(repo.peerId)) {
      if (options.stopped()) return
      await new Promise((r) => setTimeout(r, 2_000).unref())
    }
    // once the root says this device holds its window, the archives are on its disk: peers announce new changes to it
    // and a request loads one from storage; pulling them again would only fill its memory at every start
    const said = store.layout.archiveFrom?.[repo.peerId] === store.archives.firstYear
    const held = said ? 0 : await store.archives.pullWindow(4, { release: true })
    log('archives-held', { pulled: held, firstYear: store.archives.firstYear, already: said })
    if (!options.everyYear) return
    timer = setTimeout(function run() {
      void pass()
        .catch(failed)
        .finally(() => {
          if (!options.stopped()) (timer = setTimeout(run, ARCHIVE_EVERY_MS)).unref()
        })
    }, FIRST_PASS_MS)
    timer.unref()
  }
  const failed = (err: unknown): void =>
    log('history-failed', { error: err instanceof Error ? err.name : 'unknown' })
  void start().catch(failed)
  return () => clearTimeout(timer)
}
