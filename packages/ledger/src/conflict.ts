import type { BatchId, ConflictId, OperationId, Role, UserId } from '@clinic-mesh/contracts'
import type { Approval, Decision, Operation } from './operation.js'

/** Stable reason codes of the review queue (tldraw-style `as const` object + union). */
export const CONFLICT_KINDS = {
  insufficientStock: 'insufficient-stock',
  batchExpired: 'batch-expired',
  unknownItem: 'unknown-item',
  unknownBatch: 'unknown-batch',
  batchMismatch: 'batch-mismatch',
  priceChanged: 'price-changed',
  formularyChanged: 'formulary-changed',
  prescriptionChanged: 'prescription-changed',
  overDispensed: 'over-dispensed',
  countDiscrepancy: 'count-discrepancy',
  controlledCountDiscrepancy: 'controlled-count-discrepancy',
  adjustmentApproval: 'adjustment-approval',
  transferUnmatched: 'transfer-unmatched',
  unauthorized: 'unauthorized',
  chainGap: 'chain-gap',
  chainFork: 'chain-fork',
  idempotencyMismatch: 'idempotency-mismatch',
} as const
export type ConflictKind = (typeof CONFLICT_KINDS)[keyof typeof CONFLICT_KINDS]

/** What the device believed when it recorded the operation. */
export interface Seen {
  readonly batch?: BatchId | null
  readonly price?: number
  readonly stock?: number
  readonly prescriptionHash?: string
  readonly counted?: number
}

/** What the relay knows (at the op's time for prices, at settlement for stock). */
export interface Authoritative {
  readonly price?: number
  readonly stock?: number
  readonly prescriptionHash?: string | null
  readonly prescriptionStatus?: string
  /** why the prescription was put on hold or cancelled centrally */
  readonly prescriptionReason?: string
  readonly expiry?: string
  readonly formularyStatus?: string
  readonly existingHash?: string
  readonly missingFrom?: number
  /** units the prescription line prescribes, and how many of them were already dispensed (settled) */
  readonly prescribed?: number
  readonly dispensed?: number
}

export interface ConflictDraft {
  readonly kind: ConflictKind
  readonly detail: string
  readonly seen: Seen
  readonly authority: Authoritative
}

export interface ResolutionRecord {
  readonly op: OperationId
  readonly decision: Decision
  readonly by: UserId
  readonly role: Role
  readonly approvedBy: Approval | null
  readonly round: number
}

export interface Refusal {
  readonly op: OperationId
  readonly error: string
  readonly message: string
}

/** One review-queue entry: the operation as recorded, what the device saw, what the relay knows. */
export interface Conflict extends ConflictDraft {
  readonly id: ConflictId
  readonly op: Operation
  /** Controlled drug or count of one: needs a second approver with the supervisor role. */
  readonly critical: boolean
  readonly round: number
  status: 'open' | 'resolved'
  resolution: ResolutionRecord | null
  refusals: Refusal[]
}

export function conflictIdFor(op: Operation, kind: ConflictKind): ConflictId {
  return (
    kind === 'idempotency-mismatch' || kind === 'chain-fork'
      ? `c_${op.id}_${op.hash.slice(0, 12)}`
      : `c_${op.id}`
  ) as ConflictId
}
