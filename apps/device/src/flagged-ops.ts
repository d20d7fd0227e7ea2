import type { ConflictQueueEntry, FlaggedOperation } from '@clinic-mesh/contracts'
import { conflictOutcome } from './conflict-outcome.js'

/**
 * This device's operations that the relay flagged, newest first: what was recorded, why, and the decision once made
 * (a pharmacist learns that their dispense was flagged and how it was resolved, seed 000).
 */
export function flaggedOf(entries: readonly ConflictQueueEntry[], device: string): FlaggedOperation[] {
  const out: FlaggedOperation[] = []
  for (const c of entries) {
    const op = c.op
    if (op.device !== device) continue
    const { status, decision: d } = conflictOutcome(c)
    out.push({
      conflict: c.id,
      op: op.id,
      opKind: op.kind,
      kind: c.kind,
      detail: c.detail,
      item: op.item ?? null,
      batch: op.batch ?? null,
      quantity: op.quantity ?? null,
      at: new Date(op.hlc.wall).toISOString(),
      user: op.user,
      critical: c.critical,
      status,
      decision: d && {
        action: d.action,
        ...(d.quantity !== undefined ? { quantity: d.quantity } : {}),
        ...(d.batch !== undefined ? { batch: d.batch } : {}),
        by: d.by,
        role: d.role,
      },
    })
  }
  return out.sort((a, b) => b.at.localeCompare(a.at))
}
