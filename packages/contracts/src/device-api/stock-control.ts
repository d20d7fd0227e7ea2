import * as v from 'valibot'
import { anyInt, id, int, nonEmpty, nonZeroInt, oneOf, text } from '../fields.js'
import type { BatchId, ItemId, OperationId } from '../ids.js'
import { IdempotencyIdSchema } from './stock.js'

/**
 * `POST /api/stock/counts`: one lot counted (controlled drugs first of all). The node records a `count` operation and
 * fills `stockSeen` from its own tentative stock; a client's figure is not read.
 */
export const CountRequestSchema = v.object({
  id: IdempotencyIdSchema,
  item: id<ItemId>(),
  batch: id<BatchId>(),
  counted: int(0),
  stockSeen: v.optional(v.unknown()),
})
export type CountRequest = v.InferOutput<typeof CountRequestSchema>

/** A supervisor at the tablet approving an adjustment: their own user name or id and password, checked by the node. */
export const ApproverRequestSchema = v.object({
  user: nonEmpty(200),
  password: v.pipe(v.string('must be text'), v.minLength(1, 'is required'), v.maxLength(200)),
})

/**
 * `POST /api/stock/adjustments`: an `adjustment-request` (lot, signed delta, reason). With `approver`, a supervisor on
 * site types their password and the node signs the approval with their key (the relay verifies it against the
 * register); without, the request waits for a supervisor at the relay's reviewer console (`adjustment-approval`).
 */
export const AdjustmentRequestSchema = v.object({
  id: IdempotencyIdSchema,
  item: id<ItemId>(),
  batch: id<BatchId>(),
  delta: nonZeroInt(),
  reason: text(),
  corrects: v.optional(v.nullable(id<OperationId>()), null),
  approver: v.optional(v.nullable(ApproverRequestSchema), null),
})
export type AdjustmentRequest = v.InferOutput<typeof AdjustmentRequestSchema>

/** The register's kinds: the operations that move (or count) stock of an item. */
export const REGISTER_KINDS = [
  'receive',
  'dispense',
  'return',
  'transfer-out',
  'transfer-in',
  'count',
  'adjustment-request',
] as const
export type RegisterKind = (typeof REGISTER_KINDS)[number]

/** One line of a controlled-drug register (`GET /api/stock/register?item=`), oldest first. */
export const RegisterEntrySchema = v.object({
  op: v.string(),
  kind: oneOf(REGISTER_KINDS),
  at: v.string(),
  device: v.string(),
  user: v.string(),
  batch: v.nullable(v.string()),
  /** units in (+) or out (-) as far as known: 0 for a count that matched, an open conflict or an unapproved request */
  change: anyInt(),
  /** counts: units counted and what the tablet's books said */
  counted: v.nullable(v.number()),
  stockSeen: v.nullable(v.number()),
  /** adjustments: the delta asked, the reason, the supervisor who approved on site (null: none) */
  delta: v.nullable(v.number()),
  reason: v.nullable(v.string()),
  approvedBy: v.nullable(v.string()),
  /** settled: the relay applied it; tentative: not decided yet; conflict: raised, open; resolved: a reviewer decided */
  status: oneOf(['settled', 'tentative', 'conflict', 'resolved']),
  conflict: v.nullable(
    v.object({ id: v.string(), kind: v.string(), detail: v.string(), critical: v.boolean() }),
  ),
  /** the reviewer's decision, who made it and the supervisor who approved it (null: none needed) */
  decision: v.nullable(v.object({ action: v.string(), by: v.string(), approvedBy: v.nullable(v.string()) })),
  /** running balance of the item at this site after this line */
  balance: anyInt(),
})
export type RegisterEntry = v.InferOutput<typeof RegisterEntrySchema>

/** `GET /api/stock/register?item=`: the item's register at this tablet's site. */
export const RegisterReplySchema = v.object({
  item: v.string(),
  name: v.nullable(v.string()),
  controlled: v.boolean(),
  entries: v.array(RegisterEntrySchema),
  /** the relay's settled balance of the item (signed inventory), null when none verified yet */
  settled: v.nullable(anyInt()),
  /** settled + every operation not decided yet (what the tablet shows as stock) */
  tentative: anyInt(),
  /** the conflict queue vouched for by the pinned relay key (false: statuses of raised lines are not known here) */
  conflictsVerified: v.boolean(),
})
export type RegisterReply = v.InferOutput<typeof RegisterReplySchema>
