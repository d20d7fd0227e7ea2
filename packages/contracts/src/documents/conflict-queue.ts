import * as v from 'valibot'
import { AuthoritySchema, CONFLICT_STATUSES, ResolutionRecordSchema } from '../relay-api/conflict-view.js'

/**
 * One entry of the relay's conflict queue document (`ConflictQueueDoc.conflicts`, JSON text each): the ledger
 * `Conflict` the relay raised, with its status and resolution, as a device reads it. Only the fields a device reads
 * are checked and kept; the rest (what the device saw, rounds, refusals) pass unread.
 */
export const ConflictQueueEntrySchema = v.object({
  id: v.string(),
  kind: v.string(),
  detail: v.string(),
  critical: v.boolean(),
  status: v.picklist(CONFLICT_STATUSES),
  /** the operation as recorded: its header, and the stock fields of kinds that have them */
  op: v.object({
    id: v.string(),
    kind: v.string(),
    device: v.string(),
    user: v.string(),
    hlc: v.object({ wall: v.number() }),
    item: v.optional(v.string()),
    batch: v.optional(v.nullable(v.string())),
    quantity: v.optional(v.number()),
  }),
  authority: AuthoritySchema,
  resolution: v.nullable(ResolutionRecordSchema),
})
export type ConflictQueueEntry = v.InferOutput<typeof ConflictQueueEntrySchema>
