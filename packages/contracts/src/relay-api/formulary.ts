import * as v from 'valibot'
import { bool, int, nonEmpty, oneOf } from '../fields.js'
import type { ItemId } from '../ids.js'
import { ClinicIdSchema } from './clinic-id.js'

/**
 * The central office's formulary at the relay (docs/relay-api.md "Formulary"): read by any signed-in reviewer of the
 * clinic, changed only by a signed-in supervisor or admin (the relay records a `formulary-update` operation in its
 * own log under that user and role, and settles it).
 */

/** One formulary entry as settled: name (generic, strength, form), price in minor units, status, controlled. */
export const FormularyItemSchema = v.object({
  item: v.string(),
  name: v.string(),
  price: v.number(),
  status: v.picklist(['active', 'withdrawn']),
  controlled: v.boolean(),
})
export type FormularyItem = v.InferOutput<typeof FormularyItemSchema>

/** `GET /api/formulary?clinic=`: the clinic's settled formulary, by name. */
export const FormularyReplySchema = v.object({
  clinic: v.string(),
  items: v.array(FormularyItemSchema),
})
export type FormularyReply = v.InferOutput<typeof FormularyReplySchema>

/**
 * `POST /api/formulary`: add an item, reprice it or withdraw it (the same entry with `status: 'withdrawn'`). `clinic`
 * defaults to the session's own.
 */
export const FormularyUpdateRequestSchema = v.object({
  clinic: v.optional(ClinicIdSchema),
  item: v.pipe(
    v.string('must be text'),
    v.regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'must be 1-100 characters of A-Z a-z 0-9 _ . : -'),
  ) as unknown as v.GenericSchema<string, ItemId>,
  name: nonEmpty(200),
  price: int(0),
  status: v.optional(oneOf(['active', 'withdrawn']), 'active'),
  controlled: v.optional(bool(), false),
})
export type FormularyUpdateRequest = v.InferOutput<typeof FormularyUpdateRequestSchema>

/** The reply of `POST /api/formulary` (201): the operation the relay recorded and the entry as now settled. */
export const FormularyUpdateReplySchema = v.object({
  operation: v.string(),
  item: FormularyItemSchema,
})
export type FormularyUpdateReply = v.InferOutput<typeof FormularyUpdateReplySchema>
