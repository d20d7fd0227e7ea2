import { readFile } from 'node:fs/promises'
import type { BenchRow } from './row.js'
import { runChildJson } from './run-child.js'
import type { JoinResult } from './join-child.js'
import type { TodayResult } from './today-case.js'

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? NaN
const s = (ms: number): number => ms / 1000
/** The 1-minute load average (the bench box is shared): beside each case in the note. */
const load1 = async (): Promise<string> =>
  (await readFile('/proc/loadavg', 'utf8').catch(() => '?')).split(' ')[0] ?? '?'

/**
 * P13 (issue 17 #4, today first): a tablet joins a clinic of `n` charts; today's 40 open visits are spread over the
 * clinic. The clinic is made as one expecting `n` charts is (`expectedCharts`: 10,000 → 1,024 buckets of ~10 charts)
 * with today documents, and joined three ways, alternated: reading today's document first (ours: the queue and
 * today's buckets while the index shards load), today first once the shards are local (the previous path), and in
 * bucket order; beside the 64 buckets, no today document and text root (layout 1) of a clinic made before all three,
 * joined today first from the shards. Two levers of ours apart, each beside the same joins without it (until today's
 * buckets are local): each document's first sync message materialized (`freshSync`; stock: through patches) and the
 * root's URLs as scalars (layout 2; a root of layout 1 naming the same documents). Each clinic in its own child
 * process, each join in its own; two joins each, the median. `todayMs` counts from the join's start; CPU is the
 * joiner's (user + system) until then.
 */
export async function benchTodayFirst(n = 10_000): Promise<BenchRow[]> {
  const loadSized = await load1()
  const r = await runChildJson<TodayResult>('child.js', ['today', String(n)], `today-first case ${n}`)
  const loadOld = await load1()
  const old = await runChildJson<TodayResult>(
    'child.js',
    ['today-64', String(n)],
    `today-first case ${n}, 64`,
  )
  const loadEnd = await load1()
  // a today-only join has no later figures (NaN, null once through JSON)
  const f = (v: number | null): string => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(0) : '—')
  const print = (label: string, js: JoinResult[]): void => {
    for (const j of js)
      console.error(
        `P13 ${label}: queue ${f(j.queueMs)} ms (${j.todayNamed} named by the today document), today ${f(j.todayMs)} ms (${j.todayBuckets} buckets, CPU ${f(j.todayCpuMs)} ms), searchable ${f(j.searchableMs)} ms, every chart ${f(j.allChartsMs)} ms, peak ${f(j.peakRssMb)} MB`,
      )
  }
  print(`${r.buckets} buckets, today document first`, r.today)
  print(`${r.buckets} buckets, today document first, stock first sync`, r.stock)
  print(`${r.buckets} buckets, today document first, root of layout 1 (text URLs)`, r.text)
  print(`${r.buckets} buckets, today first after the shards`, r.first)
  print(`${r.buckets} buckets, bucket order`, r.plain)
  print(`${old.buckets} buckets, today first after the shards`, old.first)
  const at = (js: JoinResult[], k: keyof JoinResult): number => median(js.map((j) => j[k]))
  const buckets = r.today[0]?.todayBuckets ?? 0
  const oldBuckets = old.first[0]?.todayBuckets ?? 0
  const today = at(r.today, 'todayMs')
  const viaShards = at(r.first, 'todayMs')
  const loads = `load ${loadSized} / ${loadOld} / ${loadEnd} (start, 64-bucket case, end)`
  const cpu = (js: JoinResult[]): string => `CPU ${s(at(js, 'todayCpuMs')).toFixed(2)} s`
  const lever = (label: string, base: JoinResult[], how: string): BenchRow => ({
    metric: `P13 today's visits local, today document first, ${label}`,
    ours: s(today),
    baseline: s(at(base, 'todayMs')),
    unit: 's',
    goal: 'sooner',
    ok: today < at(base, 'todayMs'),
    note: `the joiner's ${cpu(r.today)} vs ${cpu(base)} until then; baseline: ${how}; joins alternated; ${loads}; median of 2`,
  })
  return [
    {
      metric: `P13 today's ${r.visits} visits local on a joining tablet, ${n} charts in ${r.buckets} buckets, today document first`,
      ours: s(today),
      baseline: s(viaShards),
      unit: 's',
      goal: '≤ 1 s',
      ok: today <= 1_000,
      note:
        `ours: today's document read first (${buckets} buckets pulled before the shards; queue known at ` +
        `${s(at(r.today, 'queueMs')).toFixed(2)} s, searchable ${s(at(r.today, 'searchableMs')).toFixed(1)} s), ` +
        `baseline: the same clinic, today's buckets first once the shards are local (searchable ` +
        `${s(at(r.first, 'searchableMs')).toFixed(1)} s); joiner ${cpu(r.today)} until today; joins alternated; ` +
        `${loads}; median of 2`,
    },
    lever(
      'first sync of each document materialized vs through patches',
      r.stock,
      'the same joins, each document arriving through patches as stock Automerge applies a sync message',
    ),
    lever(
      'root of layout 2 (URLs as scalars) vs layout 1 (text)',
      r.text,
      `the same joins through a root of layout 1 naming the same ${r.buckets} buckets (URLs as text, ~40 ops each)`,
    ),
    {
      metric: `P13 today's visits local, today first after the shards, ${r.buckets} vs 64 buckets (no today document)`,
      ours: s(viaShards),
      baseline: s(at(old.first, 'todayMs')),
      unit: 's',
      goal: 'sooner',
      ok: viaShards < at(old.first, 'todayMs'),
      note: `${buckets} vs ${oldBuckets} buckets pulled first; in bucket order ${s(at(r.plain, 'todayMs')).toFixed(1)} s; ${loads}`,
    },
    {
      metric: `P13 every chart local on the same joins, ${n} charts, ${r.buckets} buckets with today document vs 64`,
      ours: s(at(r.today, 'allChartsMs')),
      baseline: s(at(old.first, 'allChartsMs')),
      unit: 's',
      goal: 'no slower',
      ok: at(r.today, 'allChartsMs') <= 1.2 * at(old.first, 'allChartsMs'),
      note:
        `peak RSS ${at(r.today, 'peakRssMb').toFixed(0)} vs ${at(old.first, 'peakRssMb').toFixed(0)} MB; ` +
        `${r.buckets} buckets after the shards ${s(at(r.first, 'allChartsMs')).toFixed(1)} s, in bucket order ` +
        `${s(at(r.plain, 'allChartsMs')).toFixed(1)} s`,
    },
  ]
}
