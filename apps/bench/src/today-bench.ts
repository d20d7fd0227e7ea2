import type { BenchRow } from './row.js'
import { runChildJson } from './run-child.js'
import type { TodayResult } from './today-case.js'

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? NaN

/**
 * P13 (issue 17 #4, today first): a tablet joins a clinic of `n` charts; today's 40 open visits are spread over the
 * clinic. Ours pulls the buckets holding them first; the baseline is the same join in bucket order. Two joins each,
 * alternated, in one child process's clinic; the median of each.
 */
export async function benchTodayFirst(n = 10_000): Promise<BenchRow[]> {
  const r = await runChildJson<TodayResult>('child.js', ['today', String(n)], `today-first case ${n}`)
  const s = (ms: number): number => ms / 1000
  const todayFirst = median(r.first.map((j) => j.todayMs))
  const todayPlain = median(r.plain.map((j) => j.todayMs))
  const buckets = r.first[0]?.todayBuckets ?? 0
  return [
    {
      metric: `P13 today's ${r.visits} visits local on a joining tablet, ${n} charts`,
      ours: s(todayFirst),
      baseline: s(todayPlain),
      unit: 's',
      goal: '≤ 1 s',
      ok: todayFirst <= 1_000,
      note: `their ${buckets} of ${process.env['CM_BUCKETS'] ?? 64} buckets pulled first; baseline: the same join in bucket order; median of 2 each`,
    },
    {
      metric: `P13 every chart local on the same joins, ${n} charts`,
      ours: s(median(r.first.map((j) => j.allChartsMs))),
      baseline: s(median(r.plain.map((j) => j.allChartsMs))),
      unit: 's',
      goal: 'no slower',
      ok: median(r.first.map((j) => j.allChartsMs)) <= 1.2 * median(r.plain.map((j) => j.allChartsMs)),
      note: `searchable after ${s(median(r.first.map((j) => j.searchableMs))).toFixed(1)} s (the index shards come before any chart)`,
    },
  ]
}
