import { Repo, type PeerId } from '@automerge/automerge-repo'
import { DEFAULT_CHART_BUCKETS } from '@clinic-mesh/store'
import { patientAt } from './fixtures.js'
import type { JoinResult } from './join-child.js'
import { createClinic, joinInChild } from './layout-case.js'

/** Issue 17 #4 in one fresh process: a clinic of `n` charts, and a tablet joining it twice, today first and not. */
export interface TodayResult {
  charts: number
  visits: number
  /** the clinic's chart buckets */
  buckets: number
  /** joins with today's buckets first, then in bucket order (the baseline), alternated */
  first: JoinResult[]
  plain: JoinResult[]
}

/** Today's queue: 40 open visits, their patients spread over the clinic. */
export const TODAY_VISITS = 40

/**
 * `layout` 'sized': the clinic made as a clinic expecting `n` charts is (`expectedCharts: n`; `CM_BUCKETS` overrides
 * the count), joined today first and in bucket order, alternated; 'old': the 64 buckets of a clinic made without an
 * expected size (every clinic made before it), joined today first only.
 */
export async function runToday(n: number, layout: 'sized' | 'old' = 'sized'): Promise<TodayResult> {
  const a = new Repo({ network: [], peerId: 'a' as PeerId })
  const env = process.env['CM_BUCKETS']
  const size =
    layout === 'old'
      ? { chartBuckets: DEFAULT_CHART_BUCKETS }
      : env
        ? { chartBuckets: Number(env) }
        : { expectedCharts: n }
  const { store } = await createClinic(a, n, size)
  const today = Array.from(
    { length: TODAY_VISITS },
    (_, k) => patientAt(Math.floor((k * n) / TODAY_VISITS) + 7).id,
  )
  const first: JoinResult[] = []
  const plain: JoinResult[] = []
  for (let round = 0; round < 2; round++) {
    first.push(await joinInChild(a, store.rootUrl, today, 'first'))
    if (layout === 'sized') plain.push(await joinInChild(a, store.rootUrl, today, 'plain'))
  }
  const buckets = store.layout.chartBuckets.length
  await a.shutdown()
  return { charts: n, visits: TODAY_VISITS, buckets, first, plain }
}
