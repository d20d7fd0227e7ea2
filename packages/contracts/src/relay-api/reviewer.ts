import * as v from 'valibot'
import { id, nonEmpty, text } from '../fields.js'
import type { UserId } from '../ids.js'
import { DecisionSchema } from '../ledger-ops.js'
import { RoleSchema } from '../role-schema.js'
import { ClinicIdSchema } from './clinic-id.js'
import { ConflictViewSchema } from './conflict-view.js'

/** The reviewer console's requests and replies (docs/relay-api.md). */

/** `POST /api/login`: a session of one clinic's reviewer, pharmacist or supervisor (12 h). */
/** A user's name or id, as typed (trimmed). */
const userName = v.pipe(v.string('must be text'), v.trim(), nonEmpty(100))

export const RelayLoginRequestSchema = v.object({
  clinic: ClinicIdSchema,
  user: userName,
  password: nonEmpty(200),
})
export type RelayLoginRequest = v.InferOutput<typeof RelayLoginRequestSchema>

export const RelayLoginReplySchema = v.object({
  token: v.string(),
  user: v.object({ id: v.string(), name: v.string(), role: RoleSchema }),
  clinic: v.string(),
  expiresAt: v.string(),
})
export type RelayLoginReply = v.InferOutput<typeof RelayLoginReplySchema>

/** The second approver of a critical decision; `password` proves it for a clinic whose users sign in (the relay checks it, then drops it). */
export const ApprovalRequestSchema = v.object({
  user: userName,
  role: RoleSchema,
  password: v.optional(v.string()),
})

/**
 * `POST /api/conflicts/:id/resolution`. `user` and `role`: a signed-in reviewer's come from the session (the relay
 * overwrites them); an operator token sends them for a clinic without users.
 */
export const ResolutionRequestSchema = v.object({
  clinic: ClinicIdSchema,
  decision: DecisionSchema,
  note: v.optional(text(2000), ''),
  user: id<UserId>(),
  role: RoleSchema,
  approval: v.nullish(ApprovalRequestSchema, null),
})
export type ResolutionRequestBody = v.InferInput<typeof ResolutionRequestSchema>
export type ResolutionRequest = v.InferOutput<typeof ResolutionRequestSchema>

export const ResolutionReplySchema = v.object({
  outcome: v.picklist(['resolved', 'refused']),
  operation: v.string(),
  conflict: ConflictViewSchema,
})
export type ResolutionReply = v.InferOutput<typeof ResolutionReplySchema>

/** One clinic on the relay's `GET /api/status` (with a token). */
/** Operations the relay decided and conflicts raised, per day of the operations' device time (UTC, YYYY-MM-DD). */
export const ClinicDaySchema = v.object({ day: v.string(), operations: v.number(), conflicts: v.number() })
export type ClinicDay = v.InferOutput<typeof ClinicDaySchema>

export const ClinicStatusSchema = v.object({
  clinic: v.string(),
  /** the clinic's display name (its directory), for a signed-in user of that clinic or the operator */
  name: v.optional(v.nullable(v.string())),
  /** the last days with operations, oldest first (conflict rate = conflicts per 100 operations) */
  days: v.optional(v.array(ClinicDaySchema)),
  /** the clinic directory document has reached the relay */
  directoryLoaded: v.boolean(),
  documents: v.number(),
  /** `/sync` claims to this clinic's documents the relay refused */
  claimsRefused: v.number(),
  devices: v.array(v.object({ device: v.string(), maxSeq: v.number(), watermark: v.number() })),
  opsSettled: v.number(),
  opsDecided: v.number(),
  opsPending: v.number(),
  opsRejected: v.number(),
  conflictsOpen: v.number(),
  conflictsResolved: v.number(),
  lastSettlementAt: v.nullable(v.string()),
  /** why the last checkpoint save failed (null: saved) */
  checkpointError: v.nullable(v.string()),
  /** the relay-only documents it writes: settled inventory and conflict queue URLs */
  settlement: v.object({ inventory: v.optional(v.string()), conflicts: v.optional(v.string()) }),
  /** this relay instance settles the clinic now; false: another instance does (figures as of its last checkpoint) */
  settler: v.optional(v.boolean()),
})

/** `GET /api/status`: without a token only the relay key and time; with one, the clinics it may read. */
export const RelayStatusReplySchema = v.object({
  relayKey: v.string(),
  time: v.string(),
  clinics: v.optional(v.array(ClinicStatusSchema)),
})
export type RelayStatusReply = v.InferOutput<typeof RelayStatusReplySchema>

/** The settled inventory (the ledger's InventoryState as JSON). */
export const InventoryStateSchema = v.object({
  items: v.record(
    v.string(),
    v.object({ name: v.string(), price: v.number(), status: v.string(), controlled: v.boolean() }),
  ),
  batches: v.record(
    v.string(),
    v.object({ item: v.string(), expiry: v.string(), unitCost: v.optional(v.number()) }),
  ),
  stock: v.record(v.string(), v.record(v.string(), v.number())),
})
export type InventoryStateView = v.InferOutput<typeof InventoryStateSchema>

/** `GET /api/inventory?clinic=`. */
export const InventoryReplySchema = v.object({
  clinic: v.string(),
  settledAt: v.nullable(v.string()),
  decidedOps: v.number(),
  watermarks: v.record(v.string(), v.number()),
  inventory: InventoryStateSchema,
})
export type InventoryReply = v.InferOutput<typeof InventoryReplySchema>
