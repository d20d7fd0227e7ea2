import * as v from 'valibot'
import { int } from '../fields.js'
import { ApprovalSchema, DecisionSchema } from '../ledger-ops.js'

/**
 * A conflict as the reviewer console sees it (`GET /api/conflicts`): clinical context first, the operation last. The
 * `names` are given only to a signed-in reviewer of the conflict's clinic (the relay never logs them).
 */

export const CONFLICT_STATUSES = ['open', 'resolved'] as const
export type ConflictStatus = (typeof CONFLICT_STATUSES)[number]

/** What the device believed when it recorded the operation. */
export const SeenSchema = v.object({
  batch: v.optional(v.nullable(v.string())),
  price: v.optional(v.number()),
  stock: v.optional(v.number()),
  prescriptionHash: v.optional(v.string()),
  counted: v.optional(v.number()),
})

/** What the relay knows (at the operation's time for prices, at settlement for stock). */
export const AuthoritySchema = v.object({
  price: v.optional(v.number()),
  stock: v.optional(v.number()),
  prescriptionHash: v.optional(v.nullable(v.string())),
  prescriptionStatus: v.optional(v.string()),
  expiry: v.optional(v.string()),
  formularyStatus: v.optional(v.string()),
  existingHash: v.optional(v.string()),
  missingFrom: v.optional(v.number()),
  prescribed: v.optional(v.number()),
  dispensed: v.optional(v.number()),
  /** why the prescription was put on hold or cancelled centrally */
  prescriptionReason: v.optional(v.string()),
})

export const ResolutionRecordSchema = v.object({
  op: v.string(),
  decision: DecisionSchema,
  by: v.string(),
  role: v.string(),
  approvedBy: v.nullable(ApprovalSchema),
  round: int(0),
})

export const ConflictViewSchema = v.object({
  id: v.string(),
  clinic: v.string(),
  kind: v.string(),
  status: v.picklist(CONFLICT_STATUSES),
  critical: v.boolean(),
  detail: v.string(),
  patient: v.nullable(v.string()),
  prescription: v.nullable(v.string()),
  item: v.nullable(v.string()),
  batch: v.nullable(v.string()),
  quantity: v.nullable(v.number()),
  operation: v.object({ id: v.string(), kind: v.string(), seq: int(1) }),
  device: v.string(),
  user: v.string(),
  role: v.string(),
  site: v.string(),
  /** device time of the operation (ISO) */
  at: v.string(),
  seen: SeenSchema,
  authority: AuthoritySchema,
  round: int(0),
  resolution: v.nullable(ResolutionRecordSchema),
  refusals: v.array(v.object({ op: v.string(), error: v.string(), message: v.string() })),
  /** display names for the ids above, for a signed-in reviewer of this clinic (absent: ids only) */
  names: v.optional(
    v.object({
      clinic: v.nullable(v.string()),
      device: v.nullable(v.string()),
      patient: v.nullable(v.string()),
      user: v.nullable(v.string()),
      item: v.nullable(v.string()),
    }),
  ),
})
export type ConflictView = v.InferOutput<typeof ConflictViewSchema>

export const ConflictsReplySchema = v.object({ conflicts: v.array(ConflictViewSchema) })
export type ConflictsReply = v.InferOutput<typeof ConflictsReplySchema>
