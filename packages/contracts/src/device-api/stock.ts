import * as v from 'valibot'
import { anyInt, bool, int, nonEmpty, oneOf } from '../fields.js'
import type { OperationId } from '../ids.js'
import { DISPENSE_BODY, FORMULARY_UPDATE_BODY, RECEIVE_BODY } from '../ledger-ops.js'

/** The idempotency key of a stock request: a retried request with the same id records nothing twice. */
export const IdempotencyIdSchema = v.pipe(
  v.string('must be given (the idempotency key) as text'),
  v.regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'must be 1-100 characters of A-Z a-z 0-9 _ . : -'),
) as unknown as v.GenericSchema<string, OperationId>

/** `POST /api/stock/receipts`: goods received (a GRN), recorded as a `receive` operation. */
export const ReceiptRequestSchema = v.object({ id: IdempotencyIdSchema, ...RECEIVE_BODY })
export type ReceiptRequest = v.InferOutput<typeof ReceiptRequestSchema>

/**
 * `POST /api/stock/dispenses`: a `dispense` operation (`batch: null`: the relay picks first-expiry-first-out). With
 * `line`, the node verifies the signed prescription, checks the lot is of the line's item and writes `prescribed`.
 */
export const DispenseRequestSchema = v.object({
  id: IdempotencyIdSchema,
  ...DISPENSE_BODY,
  // the node writes the prescribed quantity from the prescription it verified; a client's figure is not read
  prescribed: v.optional(v.unknown()),
})
export type DispenseRequest = v.InferOutput<typeof DispenseRequestSchema>

/** `POST /api/stock/formulary` (admin): a `formulary-update` operation; status defaults to active, controlled to false. */
export const FormularyRequestSchema = v.object({
  id: IdempotencyIdSchema,
  ...FORMULARY_UPDATE_BODY,
  name: nonEmpty(),
  status: v.optional(oneOf(['active', 'withdrawn']), 'active'),
  controlled: v.optional(bool(), false),
})
export type FormularyRequest = v.InferOutput<typeof FormularyRequestSchema>

/** One lot on `GET /api/stock`: settled (relay) and tentative (with this clinic's unsettled operations) apart. */
export const StockLineSchema = v.object({
  site: v.string(),
  item: v.string(),
  batch: v.string(),
  expiry: v.string(),
  settled: anyInt(),
  tentative: anyInt(),
  itemName: v.nullable(v.string()),
})

export const StockItemSchema = v.object({
  name: v.string(),
  price: int(0),
  status: oneOf(['active', 'withdrawn']),
  controlled: v.boolean(),
})

/** `GET /api/stock`. */
export const StockReplySchema = v.object({
  site: v.nullable(v.string()),
  settledAt: v.nullable(v.string()),
  /** the settled figures come from a settled inventory signed by the relay this device pinned */
  settledVerified: v.boolean(),
  settledVersion: v.nullable(v.number()),
  settledRejected: v.nullable(v.string()),
  unsettledOps: int(0),
  lines: v.array(StockLineSchema),
  items: v.record(v.string(), StockItemSchema),
  prices: v.record(v.string(), v.object({ settled: v.nullable(v.number()), tentative: v.number() })),
  warnings: v.array(
    v.object({ kind: v.string(), item: v.string(), batch: v.nullable(v.string()), message: v.string() }),
  ),
})
export type StockReply = v.InferOutput<typeof StockReplySchema>

/** A stock operation as recorded (`201`, or `200` for a retry of the same id: `duplicate: true`). */
export const StockOperationReplySchema = v.object({
  operation: v.looseObject({ id: v.string(), kind: v.string(), status: v.literal('tentative') }),
  duplicate: v.boolean(),
})
export type StockOperationReply = v.InferOutput<typeof StockOperationReplySchema>

/** The relay's decision on a flagged operation, as the tablet shows it. */
export const FlagDecisionSchema = v.object({
  action: v.string(),
  /** units left handed out (partial dispense) or written off */
  quantity: v.optional(v.number()),
  /** the lot the reviewer switched to or wrote off */
  batch: v.optional(v.string()),
  /** the reviewer (user id) and their role */
  by: v.string(),
  role: v.string(),
})

/**
 * One operation of this tablet that the central office flagged (`GET /api/stock/flags`): what was recorded, why it
 * could not be settled as it was, and the reviewer's decision once made. Only from a conflict queue that verifies
 * under the pinned relay key.
 */
export const FlaggedOperationSchema = v.object({
  conflict: v.string(),
  op: v.string(),
  opKind: v.string(),
  kind: v.string(),
  detail: v.string(),
  item: v.nullable(v.string()),
  batch: v.nullable(v.string()),
  quantity: v.nullable(v.number()),
  /** when the operation was recorded (ISO time of its clock) */
  at: v.string(),
  user: v.string(),
  critical: v.boolean(),
  status: oneOf(['open', 'resolved']),
  decision: v.nullable(FlagDecisionSchema),
})
export type FlaggedOperation = v.InferOutput<typeof FlaggedOperationSchema>

/** `GET /api/stock/flags`: this tablet's flagged operations, newest first; `verified` false when no trusted queue is here yet. */
export const FlagsReplySchema = v.object({
  verified: v.boolean(),
  flags: v.array(FlaggedOperationSchema),
})
export type FlagsReply = v.InferOutput<typeof FlagsReplySchema>
