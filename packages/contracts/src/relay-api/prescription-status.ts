import * as v from 'valibot'
import { nonEmpty, oneOf } from '../fields.js'
import { PRESCRIPTION_STATUSES } from '../ledger-ops.js'
import { ClinicIdSchema } from './clinic-id.js'

/**
 * A signed prescription's central status at the relay (docs/relay-api.md "Prescription status", issue 15 item 8): a
 * signed-in clinician or pharmacist of the clinic finds a prescription (by patient or by prescription id), puts it on
 * hold, releases the hold or cancels it, with a reason. The relay records a `prescription-status` operation in its own
 * log and publishes the status to the devices in the signed settled inventory.
 */

const ref = nonEmpty(200)

/** `GET /api/prescriptions?patient=&prescription=`: one of the two is required. */
export const PrescriptionFoundSchema = v.object({
  clinic: v.string(),
  patient: v.string(),
  /** the patient's name, for a signed-in user of this clinic */
  patientName: v.nullable(v.string()),
  prescription: v.string(),
  /** hash of the signed version the relay's copy of the chart holds (null: not signed, or does not verify) */
  signedHash: v.nullable(v.string()),
  /** what the prescription lists (drug text per line) */
  lines: v.array(v.string()),
  signedAt: v.nullable(v.string()),
  /** the central status (null: never changed at the relay, i.e. active) */
  status: v.nullable(
    v.object({
      status: v.picklist(PRESCRIPTION_STATUSES),
      reason: v.nullable(v.string()),
      at: v.nullable(v.string()),
    }),
  ),
})
export type PrescriptionFound = v.InferOutput<typeof PrescriptionFoundSchema>

export const PrescriptionsReplySchema = v.object({ prescriptions: v.array(PrescriptionFoundSchema) })
export type PrescriptionsReply = v.InferOutput<typeof PrescriptionsReplySchema>

/** `POST /api/prescriptions/:rxId/status`. `clinic` defaults to the session's own; `reason` is required. */
export const PrescriptionStatusRequestSchema = v.object({
  clinic: v.optional(ClinicIdSchema),
  patient: ref,
  status: oneOf(['active', 'on-hold', 'cancelled']),
  reason: v.pipe(
    v.string('must be text'),
    v.trim(),
    v.minLength(1, 'is required: say why the prescription is changed'),
    v.maxLength(500, 'must be at most 500 characters'),
  ),
})
export type PrescriptionStatusRequest = v.InferOutput<typeof PrescriptionStatusRequestSchema>

export const PrescriptionStatusReplySchema = v.object({
  operation: v.string(),
  prescription: PrescriptionFoundSchema,
})
export type PrescriptionStatusReply = v.InferOutput<typeof PrescriptionStatusReplySchema>
