import type { ConflictView } from '@clinic-mesh/contracts'
import type { Conflict } from '@clinic-mesh/ledger'
import type { ClinicNames } from './clinic-names.js'
import type { ClinicWatcher } from './clinic-watcher.js'

export type ViewNames = NonNullable<ConflictView['names']>

/**
 * A conflict as the reviewer sees it: clinical context first, the recorded operation last. With `names` (only for a
 * signed-in user of the conflict's clinic) the ids get their display names, and the ledger's `detail` text says the
 * device's and the item's names instead of their ids. Never logged.
 */
export function conflictView(clinic: string, c: Conflict, names?: ViewNames): ConflictView {
  const op = c.op
  const field = <T>(k: string): T | null =>
    k in op ? ((op as unknown as Record<string, T>)[k] ?? null) : null
  let detail = c.detail
  if (names) {
    const item = field<string>('item')
    if (names.device) detail = detail.split(op.device).join(names.device)
    if (item && names.item) detail = detail.split(item).join(names.item)
  }
  return {
    id: c.id,
    clinic,
    kind: c.kind,
    status: c.status,
    critical: c.critical,
    detail,
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
    ...(names ? { names } : {}),
  }
}

/** The display names of one conflict's ids in its clinic. */
export async function namesOf(w: ClinicWatcher, names: ClinicNames, c: Conflict): Promise<ViewNames> {
  const op = c.op
  const patient = 'patient' in op ? await names.patient(op.patient) : null
  const item = 'item' in op ? (w.settlement.engine.inventory().items[op.item]?.name ?? null) : null
  const user = w.register()?.users[op.user]?.name
  return {
    clinic: names.clinic,
    device: op.device === w.settlement.relayDevice ? 'central office (relay)' : names.device(op.device),
    patient,
    user: typeof user === 'string' ? user : null,
    item,
  }
}
