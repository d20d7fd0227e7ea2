import type { DeviceId, ItemId, PrescriptionId, Role, UserId } from '@clinic-mesh/contracts'
import type { Approval, Conflict, Decision, Operation } from '@clinic-mesh/ledger'
import { SettlementEngine } from '@clinic-mesh/ledger'
import type { Checkpoint, CheckpointMeta } from './settlement-store.js'

// What the relay's own log may say (resolutions, formulary entries, prescription statuses), who may say it, and the
// settlement engine that knows those rules.

export interface ResolutionInput {
  readonly decision: Decision
  readonly note: string
  readonly user: UserId
  readonly role: Role
  readonly approval: Approval | null
}

export interface ResolutionOutcome {
  readonly outcome: 'resolved' | 'refused'
  readonly conflict: Conflict
  readonly operation: Operation
  readonly error?: { readonly name: string; readonly message: string }
}

/** A formulary entry made at the relay by a signed-in supervisor or admin of the clinic (central office). */
export interface FormularyInput {
  readonly item: ItemId
  readonly name: string
  readonly price: number
  readonly status: 'active' | 'withdrawn'
  readonly controlled: boolean
  readonly user: UserId
  readonly role: Role
}

/** The roles that change the formulary at the relay (their sign-in is checked against the clinic's register). */
export const FORMULARY_ROLES: readonly Role[] = ['admin', 'supervisor']

/** The roles that put a signed prescription on hold, release or cancel it at the relay (seed 000, issue 15 item 8). */
export const PRESCRIPTION_STATUS_ROLES: readonly Role[] = ['clinician', 'pharmacist']

/** A central status for a signed prescription, made by a signed-in clinician or pharmacist of the clinic. */
export interface PrescriptionStatusInput {
  readonly prescription: PrescriptionId
  readonly signedHash: string
  readonly status: 'active' | 'on-hold' | 'cancelled'
  readonly reason: string
  readonly user: UserId
  readonly role: Role
}

/** The clinic's engine from its checkpoint (a new one without): distrust and authority read `meta` as it is then. */
export function restoreEngine(clinic: string, meta: CheckpointMeta, cp: Checkpoint | null): SettlementEngine {
  // an operation whose signature failed is never applied: the engine raises it as an `unauthorized` conflict
  const relayDevice = `relay-${clinic}` as DeviceId
  const options = {
    distrust: (op: Operation): string | null => meta.distrusted?.[op.hash] ?? null,
    // the formulary authority: an admin (on a device, endorsed by the register), or a supervisor or admin signed in
    // at the relay (the central office's screen), whose entries only the relay's own log carries
    // a prescription's central status: only from the relay's own log (a signed-in clinician or pharmacist through
    // prescription-route.ts); one in a device log is forged whoever wrote it (role-check.ts raises it first)
    isAuthority: (op: Operation): boolean =>
      op.kind === 'prescription-status'
        ? op.device === relayDevice && PRESCRIPTION_STATUS_ROLES.includes(op.role)
        : op.role === 'admin' ||
          (op.kind === 'formulary-update' && op.device === relayDevice && FORMULARY_ROLES.includes(op.role)),
  }
  return cp ? SettlementEngine.restore(cp.engine, options) : new SettlementEngine(options)
}
