import { rootUrlOf, todayDocumentId } from '@clinic-mesh/store'
import type { AccessMap } from './access-map.js'

const DAY_MS = 86_400_000

/** A clinic's records root (store's `ClinicRootDoc`) as the relay reads it: any part may be missing or malformed. */
export interface RootLike {
  clinic?: unknown
  indexShards?: unknown
  chartBuckets?: unknown
  /** year → archive documents of closed visits (store's ArchiveShelf): the relay holds every year */
  archives?: unknown
}

/**
 * The URLs a records root lists: index shards, chart buckets, every year's archives (strings, or the scalars of a
 * root of layout 2: store's `rootUrlOf`; anything else is skipped).
 */
export function rootUrls(root: RootLike): string[] {
  const archives: unknown[] =
    typeof root.archives === 'object' && root.archives !== null ? Object.values(root.archives) : []
  const out: string[] = []
  for (const list of [root.indexShards, root.chartBuckets, ...archives])
    if (Array.isArray(list))
      for (const entry of list) {
        const url = rootUrlOf(entry)
        if (url !== undefined) out.push(url)
      }
  return out
}

/**
 * Maps a clinic's today documents (store's `TodayDocs`, issue 17 #4: one a day, id derived from the clinic id and the
 * clinic's local calendar day) to the clinic, so its devices may sync them through the relay: the days any local
 * calendar can be on now (UTC yesterday to tomorrow), and again every hour. Mapped only: the relay holds a day's
 * document once a device sends it (nothing waits for a day nobody wrote). Returns the timer, stopped with `signal`.
 */
export function mapTodayDocs(
  access: AccessMap,
  clinic: string,
  signal: AbortSignal,
  now: () => number = Date.now,
): NodeJS.Timeout {
  const map = (): void => {
    for (const offset of [-1, 0, 1]) {
      const day = new Date(now() + offset * DAY_MS).toISOString().slice(0, 10)
      access.addDoc(todayDocumentId(clinic, day), clinic)
    }
  }
  map()
  const timer = setInterval(map, DAY_MS / 24)
  timer.unref()
  signal.addEventListener('abort', () => clearInterval(timer), { once: true })
  return timer
}
