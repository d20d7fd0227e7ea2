import { Repo, type PeerId } from '@automerge/automerge-repo'
import { patientAt } from './fixtures.js'
import type { JoinResult } from './join-child.js'
import { createClinic, joinInChild } from './layout-case.js'

/** Issue 17 #4 in one fresh process: a clinic of `n` charts, and a tablet joining it twice, today first and not. */
export interface TodayResult {
  charts: number
  visits: number
  /** joins with today's buckets first, then in bucket order (the baseline), alternated */
  first: JoinResult[]
  plain: JoinResult[]
}

/** Today's queue: 40 open visits, their patients spread over the clinic. */
export const TODAY_VISITS = 40

export async function runToday(n: number): Promise<TodayResult> {
  const a = new Repo({ network: [], peerId: 'a' as PeerId })
  const { store } = await createClinic(a, n)
  const today = Array.from(
    { length: TODAY_VISITS },
    (_, k) => patientAt(Math.floor((k * n) / TODAY_VISITS) + 7).id,
  )
  const first: JoinResult[] = []
  const plain: JoinResult[] = []
  for (let round = 0; round < 2; round++) {
    first.push(await joinInChild(a, store.rootUrl, today, 'first'))
    plain.push(await joinInChild(a, store.rootUrl, today, 'plain'))
  }
  await a.shutdown()
  return { charts: n, visits: TODAY_VISITS, first, plain }
}
