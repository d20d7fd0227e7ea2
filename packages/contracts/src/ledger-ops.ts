import * as v from 'valibot'
import { anyInt, bool, hex64, id, int, isoDate, nonEmpty, nonZeroInt, oneOf, text } from './fields.js'
import type {
  BatchId,
  ConflictId,
  DeviceId,
  ItemId,
  LocationId,
  OperationId,
  PatientId,
  PrescriptionId,
  UserId,
} from './ids.js'
import { RoleSchema } from './role-schema.js'

/**
 * Ledger operations as they cross devices and the relay (sync batches, logs read from storage). The schemas check
 * shape, types and ranges; the ledger (`validateOperation`) adds the chain rules and the hash over the canonical
 * encoding. Every object is strict: an operation is hashed content, an unexpected field is refused.
 */

/** Version of the operation schema; part of the hashed content. */
export const OPERATION_VERSION = 1

const str = nonEmpty(256)
const nullable = /* @__NO_SIDE_EFFECTS__ */ <S extends v.GenericSchema>(s: S) => v.nullable(s)

/** A second person's sign-off (supervisor gate, critical resolutions). */
export const ApprovalSchema = v.strictObject({ user: id<UserId>(), role: RoleSchema })

/**
 * A supervisor's approval inside an `adjustment-request`: their Ed25519 signature (their register key, made by the
 * device node once they typed their password there) over the request's content and id (security
 * `adjustmentApprovalBytes`). The relay believes it only when it verifies under the key of an active supervisor of the
 * clinic's endorsed register who is not the requester; `role` is the device's word for display, never believed.
 * Without `signature` (operations before issue 15) it is a claim, and the relay raises the operation for review.
 */
export const AdjustmentApprovalSchema = v.strictObject({
  user: id<UserId>(),
  role: RoleSchema,
  signature: v.optional(
    v.pipe(v.string('must be text'), v.regex(/^[0-9a-f]{128}$/, 'must be an Ed25519 signature (128 hex)')),
  ),
})

/** What a reviewer decided about a conflict. */
export const DecisionSchema = v.variant(
  'action',
  [
    v.strictObject({ action: v.literal('switch-lot'), batch: id<BatchId>() }),
    v.strictObject({ action: v.literal('partial-dispense'), quantity: int(1) }),
    v.strictObject({ action: v.literal('cancel') }),
    v.strictObject({ action: v.literal('write-off'), batch: id<BatchId>(), quantity: int(1) }),
    v.strictObject({
      action: v.literal('accept'),
      adjustment: v.nullable(v.strictObject({ batch: id<BatchId>(), delta: nonZeroInt() })),
    }),
  ],
  'must be a decision: switch-lot, partial-dispense, cancel, write-off or accept',
)

export const HlcSchema = v.strictObject({ wall: int(0), counter: int(0), node: str })

/** The kind-specific part of each operation. Quantities are integer units, money is integer minor units (cents). */
export const RECEIVE_BODY = {
  item: id<ItemId>(),
  batch: id<BatchId>(),
  expiry: isoDate(),
  quantity: int(1),
  unitCost: int(0),
  supplier: str,
  grn: str,
}
export const DISPENSE_BODY = {
  item: id<ItemId>(),
  /** null: the relay picks first-expiry-first-out */
  batch: nullable(id<BatchId>()),
  quantity: int(1),
  patient: id<PatientId>(),
  prescription: id<PrescriptionId>(),
  /** hash of the signed version the device dispensed against */
  prescriptionHash: str,
  /** unit price shown on the device */
  priceSeen: int(0),
  /** tentative stock the device believed it had (batch, or item when batch is null) */
  stockSeen: anyInt(),
  /** the prescription line dispensed against (`items` key of the signed prescription); absent on older operations */
  line: v.optional(id()),
  /**
   * units the signed prescription line prescribes, written by the device node from the version it verified (never
   * taken from a client): the relay raises `over-dispensed` when the line's dispenses would exceed it
   */
  prescribed: v.optional(int(1)),
}
const RETURN_BODY = {
  item: id<ItemId>(),
  batch: id<BatchId>(),
  quantity: int(1),
  dispense: nullable(id<OperationId>()),
  reason: text(),
}
const TRANSFER_OUT_BODY = {
  item: id<ItemId>(),
  batch: id<BatchId>(),
  quantity: int(1),
  transfer: str,
  to: id<LocationId>(),
}
const TRANSFER_IN_BODY = {
  item: id<ItemId>(),
  batch: id<BatchId>(),
  quantity: int(1),
  transfer: str,
  from: id<LocationId>(),
}
const COUNT_BODY = { item: id<ItemId>(), batch: id<BatchId>(), counted: int(0), stockSeen: anyInt() }
const ADJUSTMENT_REQUEST_BODY = {
  item: id<ItemId>(),
  batch: id<BatchId>(),
  delta: nonZeroInt(),
  reason: text(),
  corrects: nullable(id<OperationId>()),
  approval: v.nullable(AdjustmentApprovalSchema),
}
export const FORMULARY_UPDATE_BODY = {
  item: id<ItemId>(),
  name: text(),
  price: int(0),
  status: oneOf(['active', 'withdrawn']),
  controlled: bool(),
}
/** What a central clinician or pharmacist may set a signed prescription to (`active` releases a hold). */
export const PRESCRIPTION_STATUSES = ['active', 'on-hold', 'superseded', 'cancelled'] as const
export type PrescriptionStatus = (typeof PRESCRIPTION_STATUSES)[number]
const PRESCRIPTION_STATUS_BODY = {
  prescription: id<PrescriptionId>(),
  signedHash: str,
  status: oneOf(PRESCRIPTION_STATUSES),
  /** why (required at the relay's API; absent on operations written before issue 15) */
  reason: v.optional(text()),
}
const RESOLUTION_BODY = {
  conflict: id<ConflictId>(),
  decision: DecisionSchema,
  note: text(),
  approval: v.nullable(ApprovalSchema),
}

/** Every kind's body (separate constants above so that a bundle keeps only the ones it uses). */
export const OPERATION_BODIES = {
  receive: RECEIVE_BODY,
  dispense: DISPENSE_BODY,
  return: RETURN_BODY,
  'transfer-out': TRANSFER_OUT_BODY,
  'transfer-in': TRANSFER_IN_BODY,
  count: COUNT_BODY,
  'adjustment-request': ADJUSTMENT_REQUEST_BODY,
  'formulary-update': FORMULARY_UPDATE_BODY,
  'prescription-status': PRESCRIPTION_STATUS_BODY,
  resolution: RESOLUTION_BODY,
} as const

export type OperationKind = keyof typeof OPERATION_BODIES

/** Fields every operation carries. `hash` = sha-256 of the canonical encoding of everything else. */
export const OPERATION_HEADER = {
  v: v.literal(OPERATION_VERSION, `must be ${OPERATION_VERSION} (the operation schema version)`),
  /** idempotency id */
  id: id<OperationId>(),
  device: id<DeviceId>(),
  user: id<UserId>(),
  role: RoleSchema,
  site: id<LocationId>(),
  hlc: HlcSchema,
  /** 1, 2, 3... per device */
  seq: int(1),
  /** hash of the device's previous operation (null for seq 1) */
  prev: v.nullable(hex64()),
  hash: hex64(),
} as const

/* @__NO_SIDE_EFFECTS__ */
function operation<const K extends OperationKind, const B extends v.ObjectEntries>(kind: K, body: B) {
  return v.strictObject({ ...OPERATION_HEADER, kind: v.literal(kind), ...body })
}

const receive = operation('receive', RECEIVE_BODY)
const dispense = operation('dispense', DISPENSE_BODY)
const returnOp = operation('return', RETURN_BODY)
const transferOut = operation('transfer-out', TRANSFER_OUT_BODY)
const transferIn = operation('transfer-in', TRANSFER_IN_BODY)
const count = operation('count', COUNT_BODY)
const adjustmentRequest = operation('adjustment-request', ADJUSTMENT_REQUEST_BODY)
const formularyUpdate = operation('formulary-update', FORMULARY_UPDATE_BODY)
const prescriptionStatus = operation('prescription-status', PRESCRIPTION_STATUS_BODY)
const resolution = operation('resolution', RESOLUTION_BODY)

/** One schema per operation kind (the ledger looks the kind up first to name an unknown kind as such). */
export const OPERATION_SCHEMAS = {
  receive,
  dispense,
  return: returnOp,
  'transfer-out': transferOut,
  'transfer-in': transferIn,
  count,
  'adjustment-request': adjustmentRequest,
  'formulary-update': formularyUpdate,
  'prescription-status': prescriptionStatus,
  resolution,
} as const

/** Any ledger operation (shape only: the ledger checks chain and hash). */
export const OperationSchema = v.variant('kind', [
  receive,
  dispense,
  returnOp,
  transferOut,
  transferIn,
  count,
  adjustmentRequest,
  formularyUpdate,
  prescriptionStatus,
  resolution,
])

export type ApprovalShape = v.InferOutput<typeof ApprovalSchema>
export type AdjustmentApprovalShape = v.InferOutput<typeof AdjustmentApprovalSchema>
export type DecisionShape = v.InferOutput<typeof DecisionSchema>
export type OperationShape = v.InferOutput<typeof OperationSchema>
export type OperationShapeOf<K extends OperationKind> = Extract<OperationShape, { kind: K }>
