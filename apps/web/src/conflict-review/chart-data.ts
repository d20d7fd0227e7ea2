import type { ConflictView } from './relay-api.js'

export interface Bucket {
  /** Axis label: "07:00" for hours, "29 Nov" for days. */
  label: string
  /** Second axis line: the day under the first hour of each day (hours only), else ''. */
  sub: string
  start: number
  total: number
  byKind: Record<string, number>
}

export interface ConflictSeries {
  unit: 'day' | 'hour'
  /** Consecutive periods (empty ones included, so the axis is real time), the latest `maxBuckets`. */
  buckets: Bucket[]
  /** Conflicts older than the first bucket (counted in `byClinic`, not drawn). */
  older: number
  kinds: string[]
  clinics: string[]
  /** counts[clinic][kind], all time */
  byClinic: Record<string, Record<string, number>>
  max: number
}

const HOUR = 3_600_000
const DAY = 24 * HOUR

function floorTo(t: number, unit: 'day' | 'hour'): number {
  const d = new Date(t)
  if (unit === 'day') return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime()
  return new Date(d.getFullYear(), d.getMonth(), d.getDate(), d.getHours()).getTime()
}

function next(t: number, unit: 'day' | 'hour'): number {
  // via the calendar, not +24 h: days around a DST change are 23 or 25 h long
  const d = new Date(t)
  return unit === 'day'
    ? new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1).getTime()
    : floorTo(t + HOUR + 1, 'hour')
}

/**
 * Conflicts over time (by the device time of their operation, in the reviewer's time zone), split by kind, and a
 * clinic × kind table. Hourly when everything happened within 12 hours, daily otherwise.
 */
export function conflictSeries(conflicts: readonly ConflictView[], maxBuckets = 14): ConflictSeries {
  const byClinic: Record<string, Record<string, number>> = {}
  const kinds = new Set<string>()
  const dated: { t: number; kind: string }[] = []
  for (const c of conflicts) {
    kinds.add(c.kind)
    const row = (byClinic[c.clinic] ??= {})
    row[c.kind] = (row[c.kind] ?? 0) + 1
    const t = Date.parse(c.at)
    if (!Number.isNaN(t)) dated.push({ t, kind: c.kind })
  }
  const base = { kinds: [...kinds].sort(), clinics: Object.keys(byClinic).sort(), byClinic }
  if (dated.length === 0) return { unit: 'hour', buckets: [], older: 0, max: 1, ...base }
  const first = Math.min(...dated.map((d) => d.t))
  const last = Math.max(...dated.map((d) => d.t))
  const unit: 'day' | 'hour' = last - first <= 12 * HOUR ? 'hour' : 'day'
  const starts: number[] = []
  const from = Math.max(first, last - (maxBuckets + 1) * (unit === 'hour' ? HOUR : DAY)) // never walk years of empty days
  for (let s = floorTo(from, unit); s <= last; s = next(s, unit)) starts.push(s)
  const shown = starts.slice(-maxBuckets)
  const buckets: Bucket[] = shown.map((start, i) => ({
    label: label(start, unit),
    sub: sub(start, unit, i === 0 ? null : shown[i - 1]!),
    start,
    total: 0,
    byKind: {},
  }))
  let older = 0
  for (const d of dated) {
    let b: Bucket | undefined
    for (const x of buckets) if (x.start <= d.t) b = x
    if (!b) {
      older++
      continue
    }
    b.total++
    b.byKind[d.kind] = (b.byKind[d.kind] ?? 0) + 1
  }
  return { unit, buckets, older, max: Math.max(1, ...buckets.map((b) => b.total)), ...base }
}

function label(start: number, unit: 'day' | 'hour'): string {
  const d = new Date(start)
  if (unit === 'day') return d.toLocaleDateString([], { day: 'numeric', month: 'short' })
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
}

function sub(start: number, unit: 'day' | 'hour', prev: number | null): string {
  if (unit === 'day') return ''
  if (prev !== null && new Date(prev).toDateString() === new Date(start).toDateString()) return ''
  return new Date(start).toLocaleDateString([], { day: 'numeric', month: 'short' })
}
