import type {
  BatchId,
  ConflictId,
  DeviceId,
  ItemId,
  LocationId,
  OperationId,
  PatientId,
  PrescriptionId,
  Role,
  UserId,
} from '@clinic-mesh/contracts'
import type { Hlc } from './hlc.js'

/** Version of the operation schema; part of the hashed content (defined with the schema in @clinic-mesh/contracts). */
export { OPERATION_VERSION } from '@clinic-mesh/contracts'
import type { OPERATION_VERSION } from '@clinic-mesh/contracts'
import { REGISTER_KINDS } from '@clinic-mesh/contracts'

/** A second person's sign-off (supervisor gate, critical resolutions). */
export interface Approval {
  readonly user: UserId
  readonly role: Role
}

/**
 * A supervisor's approval inside an adjustment request: their signature over the request (security
 * `signAdjustmentApproval`). The engine settles the request only when the approval is signed by someone else than
 * the requester; the relay verifies the signature against the clinic's register before it gets here.
 */
export interface AdjustmentApproval extends Approval {
  readonly signature?: string
}

/** What a reviewer decided about a conflict. */
export type Decision =
  | { readonly action: 'switch-lot'; readonly batch: BatchId }
  | { readonly action: 'partial-dispense'; readonly quantity: number }
  | { readonly action: 'cancel' }
  | { readonly action: 'write-off'; readonly batch: BatchId; readonly quantity: number }
  | {
      readonly action: 'accept'
      readonly adjustment: { readonly batch: BatchId; readonly delta: number } | null
    }

/** The kind-specific part of an operation. Quantities are integer units, money is integer minor units (cents). */
export type OperationBody =
  | {
      readonly kind: 'receive'
      readonly item: ItemId
      readonly batch: BatchId
      readonly expiry: string // YYYY-MM-DD, last day of use
      readonly quantity: number
      readonly unitCost: number
      readonly supplier: string
      readonly grn: string
    }
  | {
      readonly kind: 'dispense'
      readonly item: ItemId
      readonly batch: BatchId | null // null: the relay picks first-expiry-first-out
      readonly quantity: number
      readonly patient: PatientId
      readonly prescription: PrescriptionId
      readonly prescriptionHash: string // hash of the signed version the device dispensed against
      readonly priceSeen: number // unit price shown on the device
      readonly stockSeen: number // tentative stock the device believed it had (batch, or item when batch is null)
      readonly line?: string // the prescription line dispensed against (absent on older operations)
      readonly prescribed?: number // units that line prescribes, from the signed version the device verified
    }
  | {
      readonly kind: 'return'
      readonly item: ItemId
      readonly batch: BatchId
      readonly quantity: number
      readonly dispense: OperationId | null // the dispense this return corrects
      readonly reason: string
    }
  | {
      readonly kind: 'transfer-out'
      readonly item: ItemId
      readonly batch: BatchId
      readonly quantity: number
      readonly transfer: string
      readonly to: LocationId
    }
  | {
      readonly kind: 'transfer-in'
      readonly item: ItemId
      readonly batch: BatchId
      readonly quantity: number
      readonly transfer: string
      readonly from: LocationId
    }
  | {
      readonly kind: 'count'
      readonly item: ItemId
      readonly batch: BatchId
      readonly counted: number
      readonly stockSeen: number
    }
  | {
      readonly kind: 'adjustment-request'
      readonly item: ItemId
      readonly batch: BatchId
      readonly delta: number
      readonly reason: string
      readonly corrects: OperationId | null
      readonly approval: AdjustmentApproval | null
    }
  | {
      readonly kind: 'formulary-update'
      readonly item: ItemId
      readonly name: string
      readonly price: number
      readonly status: 'active' | 'withdrawn'
      readonly controlled: boolean
    }
  | {
      readonly kind: 'prescription-status'
      readonly prescription: PrescriptionId
      readonly signedHash: string // hash of the current signed version
      readonly status: 'active' | 'on-hold' | 'superseded' | 'cancelled'
      /** why (the relay's API requires it; absent on older operations) */
      readonly reason?: string
    }
  | {
      readonly kind: 'resolution'
      readonly conflict: ConflictId
      readonly decision: Decision
      readonly note: string
      readonly approval: Approval | null
    }

export type OperationKind = OperationBody['kind']

/** Fields every operation carries. `hash` = sha-256 of the canonical encoding of everything else. */
export interface OperationHeader {
  readonly v: typeof OPERATION_VERSION
  readonly id: OperationId // idempotency id
  readonly device: DeviceId
  readonly user: UserId
  readonly role: Role
  readonly site: LocationId
  readonly hlc: Hlc
  readonly seq: number // 1, 2, 3... per device
  readonly prev: string | null // hash of the device's previous operation (null for seq 1)
  readonly hash: string
}

export type Operation = OperationHeader & OperationBody
export type OperationOf<K extends OperationKind> = OperationHeader & Extract<OperationBody, { kind: K }>

/** An operation before its hash is computed. */
export type UnsignedOperation = Omit<OperationHeader, 'hash'> & OperationBody

/** Every kind: the register's (contracts' `REGISTER_KINDS`, the ones that move or count stock) and the authority kinds. */
export const OPERATION_KINDS: readonly OperationKind[] = [
  ...REGISTER_KINDS,
  'formulary-update',
  'prescription-status',
  'resolution',
]
