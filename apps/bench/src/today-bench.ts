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
 * clinic; it pulls the buckets holding them first. The clinic is made as one expecting `n` charts is
 * (`expectedCharts`: 10,000 → 1,024 buckets of ~10 charts), beside the 64 buckets of a clinic made without (every
 * clinic made before), each in its own child process; and beside the same join in bucket order. Two joins each, the
 * median. `todayMs` counts from the join's start: the index shards (searchable) come first.
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
  const print = (label: string, js: JoinResult[]): void => {
    for (const j of js)
      console.error(
        `P13 ${label}: searchable ${j.searchableMs.toFixed(0)} ms, today ${j.todayMs.toFixed(0)} ms (${j.todayBuckets} buckets), every chart ${j.allChartsMs.toFixed(0)} ms, peak ${j.peakRssMb.toFixed(0)} MB`,
      )
  }
  print(`${r.buckets} buckets, today first`, r.first)
  print(`${r.buckets} buckets, bucket order`, r.plain)
  print(`${old.buckets} buckets, today first`, old.first)
  const at = (js: JoinResult[], k: keyof JoinResult): number => median(js.map((j) => j[k]))
  const afterIndex = (js: JoinResult[]): number => median(js.map((j) => j.todayMs - j.searchableMs))
  const buckets = r.first[0]?.todayBuckets ?? 0
  const oldBuckets = old.first[0]?.todayBuckets ?? 0
  const today = at(r.first, 'todayMs')
  return [
    {
      metric: `P13 today's ${r.visits} visits local on a joining tablet, ${n} charts in ${r.buckets} buckets`,
      ours: s(today),
      baseline: s(at(old.first, 'todayMs')),
      unit: 's',
      goal: '≤ 1 s',
      ok: today <= 1_000,
      note:
        `ours: the clinic made for ${n} charts (${r.buckets} buckets, ${buckets} pulled first), baseline: 64 buckets ` +
        `(${oldBuckets} pulled first); after the index: ${s(afterIndex(r.first)).toFixed(1)} vs ` +
        `${s(afterIndex(old.first)).toFixed(1)} s; searchable ${s(at(r.first, 'searchableMs')).toFixed(1)} vs ` +
        `${s(at(old.first, 'searchableMs')).toFixed(1)} s; load ${loadSized} / ${loadOld}; median of 2`,
    },
    {
      metric: `P13 today's visits first vs the same join in bucket order, ${r.buckets} buckets`,
      ours: s(today),
      baseline: s(at(r.plain, 'todayMs')),
      unit: 's',
      goal: 'sooner',
      ok: today < at(r.plain, 'todayMs'),
      note: `the same clinic, joins alternated; median of 2 each`,
    },
    {
      metric: `P13 every chart local on the same joins, ${n} charts, ${r.buckets} vs 64 buckets`,
      ours: s(at(r.first, 'allChartsMs')),
      baseline: s(at(old.first, 'allChartsMs')),
      unit: 's',
      goal: 'no slower',
      ok: at(r.first, 'allChartsMs') <= 1.2 * at(old.first, 'allChartsMs'),
      note:
        `peak RSS ${at(r.first, 'peakRssMb').toFixed(0)} vs ${at(old.first, 'peakRssMb').toFixed(0)} MB; in bucket ` +
        `order ${s(at(r.plain, 'allChartsMs')).toFixed(1)} s`,
    },
  ]
}
