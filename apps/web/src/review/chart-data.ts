import type { ConflictView } from './relay-api.js'

export interface Bucket {
  /** Label of the period (a day "2026-11-29", or an hour "29 Nov 07:00" when everything is within two days). */
  label: string
  start: number
  total: number
  byKind: Record<string, number>
}

export interface ConflictSeries {
  unit: 'day' | 'hour'
  buckets: Bucket[]
  kinds: string[]
  clinics: string[]
  /** counts[clinic][kind] */
  byClinic: Record<string, Record<string, number>>
  max: number
}

const HOUR = 3_600_000
const DAY = 24 * HOUR

/**
 * Conflicts over time (by the device time of their operation), split by kind, and a clinic × kind table.
 * Hourly buckets when everything happened within two days, daily otherwise; at most `maxBuckets` (the latest).
 */
export function conflictSeries(conflicts: readonly ConflictView[], maxBuckets = 14): ConflictSeries {
  const times = conflicts.map((c) => Date.parse(c.at)).filter((t) => !Number.isNaN(t))
  const span = times.length ? Math.max(...times) - Math.min(...times) : 0
  const unit: 'day' | 'hour' = span <= 2 * DAY ? 'hour' : 'day'
  const size = unit === 'hour' ? HOUR : DAY
  const buckets = new Map<number, Bucket>()
  const byClinic: Record<string, Record<string, number>> = {}
  const kinds = new Set<string>()
  for (const c of conflicts) {
    kinds.add(c.kind)
    const row = (byClinic[c.clinic] ??= {})
    row[c.kind] = (row[c.kind] ?? 0) + 1
    const t = Date.parse(c.at)
    if (Number.isNaN(t)) continue
    const start = Math.floor(t / size) * size
    let b = buckets.get(start)
    if (!b) {
      b = { label: bucketLabel(start, unit), start, total: 0, byKind: {} }
      buckets.set(start, b)
    }
    b.total++
    b.byKind[c.kind] = (b.byKind[c.kind] ?? 0) + 1
  }
  const list = [...buckets.values()].sort((a, b) => a.start - b.start).slice(-maxBuckets)
  return {
    unit,
    buckets: list,
    kinds: [...kinds].sort(),
    clinics: Object.keys(byClinic).sort(),
    byClinic,
    max: Math.max(1, ...list.map((b) => b.total)),
  }
}

function bucketLabel(start: number, unit: 'day' | 'hour'): string {
  const d = new Date(start)
  if (unit === 'day') return d.toLocaleDateString([], { day: 'numeric', month: 'short' })
  return `${d.toLocaleDateString([], { day: 'numeric', month: 'short' })} ${d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`
}
