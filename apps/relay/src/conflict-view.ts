import type { ConflictView } from '@clinic-mesh/contracts'
import type { Conflict } from '@clinic-mesh/ledger'

/** A conflict as the reviewer sees it: clinical context first, the recorded operation last. Ids only, no names. */
export function conflictView(clinic: string, c: Conflict): ConflictView {
  const op = c.op
  const field = <T>(k: string): T | null =>
    k in op ? ((op as unknown as Record<string, T>)[k] ?? null) : null
  return {
    id: c.id,
    clinic,
    kind: c.kind,
    status: c.status,
    critical: c.critical,
    detail: c.detail,
    patient: field<string>('patient'),
    prescription: field<string>('prescription'),
    item: field<string>('item'),
    batch: field<string>('batch'),
    quantity: field<number>('quantity'),
    operation: { id: op.id, kind: op.kind, seq: op.seq },
    device: op.device,
    user: op.user,
    role: op.role,
    site: op.site,
    at: new Date(op.hlc.wall).toISOString(),
    seen: c.seen,
    authority: c.authority,
    round: c.round,
    resolution: c.resolution,
    refusals: c.refusals,
  }
}
