import { Repo, type AutomergeUrl, type PeerId } from '@automerge/automerge-repo'
import {
  DEFAULT_CHART_BUCKETS,
  TEXT_ROOT_LAYOUT,
  type ClinicRootDoc,
  type ClinicStore,
} from '@clinic-mesh/store'
import { imm, type ChartCollection } from '@clinic-mesh/records'
import { patientAt, writeChart, type FixturePatient } from './fixtures.js'
import type { JoinResult } from './join-child.js'
import { createClinic, joinInChild } from './layout-case.js'
import { arrivalsOf, openVisitsOfBucket } from './summarize-bucket.js'

/** Issue 17 #4 in one fresh process: a clinic of `n` charts, and a tablet joining it, today first and not. */
export interface TodayResult {
  charts: number
  visits: number
  /** the clinic's chart buckets */
  buckets: number
  /** joins reading the today document first (mode 'today'; the clinic made with today documents only) */
  today: JoinResult[]
  /** joins with today's buckets first once the index shards are local (mode 'first') */
  first: JoinResult[]
  /** joins in bucket order (the baseline of 'first'), the clinic made with today documents only */
  plain: JoinResult[]
  /** as `today`, each document's first sync message applied through patches (stock Automerge), until today only */
  stock: JoinResult[]
  /** as `today`, through a root of layout 1 (its URLs as text) naming the same documents, until today only */
  text: JoinResult[]
}

/**
 * A root of layout 1 (every clinic made before layout 2: its URLs as Automerge text) naming the documents of `store`,
 * with or without its `today`: what a clinic made before holds, over the same documents.
 */
function textRootOf(a: Repo, store: ClinicStore<ChartCollection>, today: boolean): AutomergeUrl {
  const { layout: _, indexShards, chartBuckets, today: t, ...rest } = store.layout
  return a.create<ClinicRootDoc>({
    ...rest,
    layout: TEXT_ROOT_LAYOUT,
    indexShards: [...indexShards],
    chartBuckets: [...chartBuckets],
    ...(today && t ? { today: t } : {}),
  }).url
}

/** Today's queue: 40 open visits, their patients spread over the clinic. */
export const TODAY_VISITS = 40

/**
 * `layout` 'sized': the clinic made as a clinic expecting `n` charts is (`expectedCharts: n`; `CM_BUCKETS` overrides
 * the count), with today documents, joined reading today's document first, today first from the index shards, and in
 * bucket order, alternated; 'old': the 64 buckets and no today document of a clinic made before either (every
 * clinic made before), joined today first from the shards only. Every chart has one visit (the fixtures' import),
 * closed but for today's 40, which stay open: the shards' open visits and today's document name those 40.
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
  const today = Array.from(
    { length: TODAY_VISITS },
    (_, k) => patientAt(Math.floor((k * n) / TODAY_VISITS) + 7).id,
  )
  const open = new Set(today)
  const write = (d: ChartCollection, p: FixturePatient): void => {
    writeChart(d, p)
    if (open.has(p.id)) return
    for (const enc of Object.values(d.charts[p.id]!.encounters)) enc.status = imm('closed')
  }
  const { store } = await createClinic(a, n, size, {
    write,
    store: {
      openVisits: openVisitsOfBucket,
      ...(layout === 'sized' ? { today: { arrivals: arrivalsOf } } : {}),
    },
  })
  // a clinic made before today documents and layout 2 has none, and its root (URLs as text) says nothing of them
  const root = layout === 'old' ? textRootOf(a, store, false) : store.rootUrl
  const textRoot = layout === 'old' ? root : textRootOf(a, store, true)
  if (layout === 'sized') await store.today.open()
  const joins: Record<'today' | 'first' | 'plain' | 'stock' | 'text', JoinResult[]> = {
    ...{ today: [], first: [], plain: [], stock: [], text: [] },
  }
  // CM_P13_CPU_PROF=DIR: a CPU profile of each joining tablet reading today's document first
  const prof = process.env['CM_P13_CPU_PROF']
  const modes = ['today', 'stock', 'text', 'first', 'plain'] as const
  for (let round = 0; round < 2; round++)
    for (const mode of layout === 'sized' ? modes : (['first'] as const)) {
      const node = prof && mode === 'today' ? ['--cpu-prof', '--cpu-prof-dir', prof] : []
      const order = mode === 'stock' || mode === 'text' ? 'today' : mode
      const from = mode === 'text' ? textRoot : root
      const until = mode === 'stock' || mode === 'text' // today only
      joins[mode].push(
        await joinInChild(a, from, today, order, node, mode === 'stock' ? 'stock' : 'fresh', until),
      )
    }
  const buckets = store.layout.chartBuckets.length
  await a.shutdown()
  return { charts: n, visits: TODAY_VISITS, buckets, ...joins }
}
