import type { Conflict, Operation } from '@clinic-mesh/ledger'
import type { CheckpointMeta } from './settlement-store.js'

/** The day (UTC, YYYY-MM-DD) of an operation's device time: the unit of the console's conflict rate. */
export function dayOf(wall: number): string {
  return new Date(wall).toISOString().slice(0, 10)
}

/** Days of operation counts kept in the checkpoint (older days are dropped). */
const DAYS_KEPT = 60

/** Counts operations new to the engine per day of their device time (the console's conflicts per 100 operations). */
export function countDays(meta: CheckpointMeta, fresh: readonly Operation[]): void {
  if (fresh.length === 0) return
  const byDay = (meta.opsByDay ??= {})
  for (const op of fresh) byDay[dayOf(op.hlc.wall)] = (byDay[dayOf(op.hlc.wall)] ?? 0) + 1
  const days = Object.keys(byDay).sort()
  for (const d of days.slice(0, Math.max(0, days.length - DAYS_KEPT))) delete byDay[d]
}

/** Operations and conflicts per day (device time of the operations), oldest first. */
export function daysOf(
  meta: CheckpointMeta,
  conflicts: readonly Conflict[],
): { day: string; operations: number; conflicts: number }[] {
  const out = new Map<string, { day: string; operations: number; conflicts: number }>()
  for (const [day, n] of Object.entries(meta.opsByDay ?? {}))
    out.set(day, { day, operations: n, conflicts: 0 })
  for (const c of conflicts) {
    const day = dayOf(c.op.hlc.wall)
    const row = out.get(day) ?? { day, operations: 0, conflicts: 0 }
    row.conflicts++
    out.set(day, row)
  }
  return [...out.values()].sort((x, y) => (x.day < y.day ? -1 : 1)).slice(-DAYS_KEPT)
}
