import * as v from 'valibot'

/** `type` of the ephemeral message a device node sends on a document when it refuses a browser's change (docs/api.md `/sync`). */
export const REFUSAL_TYPE = 'clinic-mesh/refused'

/** The refusal: the error's stable name and message, and the writes the change held (at most 200; `value` when plain). */
export const RefusalMessageSchema = v.object({
  type: v.literal(REFUSAL_TYPE),
  name: v.string(),
  message: v.string(),
  writes: v.array(v.object({ path: v.string(), value: v.optional(v.unknown()) })),
})
export type RefusalMessage = v.InferOutput<typeof RefusalMessageSchema>
