import * as v from 'valibot'
import { hex64, int, nonEmpty } from '../fields.js'

/**
 * Patient and encounter requests. The schemas check types; the clinical rules (a real birth date, plausible vital
 * signs, known statuses) are the records package's and answer `InvalidRecordError`.
 */

const optText = v.optional(v.string('must be text'))
/** Absent, null or a non-empty string. */
const optName = v.nullish(nonEmpty(500))

export const IdentifierInputSchema = v.object({ system: nonEmpty(100), value: nonEmpty(200) })

/** `POST /api/patients`: registers a patient; with `reason`, opens their first encounter too. */
export const RegisterPatientRequestSchema = v.object({
  given: optText,
  family: optText,
  birthDate: optText,
  sex: optText,
  identifiers: v.optional(v.array(IdentifierInputSchema, 'must be a list'), []),
  reason: optName,
})
export type RegisterPatientRequest = v.InferOutput<typeof RegisterPatientRequestSchema>

export const RegisterPatientReplySchema = v.object({ id: v.string(), encounterId: v.optional(v.string()) })
export type RegisterPatientReply = v.InferOutput<typeof RegisterPatientReplySchema>

/** `POST /api/encounters`. */
export const OpenEncounterRequestSchema = v.object({
  patientId: nonEmpty(),
  reason: nonEmpty(500),
  queue: optName,
})
export type OpenEncounterRequest = v.InferOutput<typeof OpenEncounterRequestSchema>

export const ENCOUNTER_SECTIONS = ['registration', 'triage', 'clinician', 'pharmacy'] as const

const anyObject = (what: string) => v.record(v.string(), v.unknown(), `must be ${what}`)

/** `PATCH /api/encounters/:id`: any of the parts, applied in one change. */
export const UpdateEncounterRequestSchema = v.object({
  patientId: nonEmpty(),
  /** sign → value; the records package checks names and plausible ranges */
  vitals: v.nullish(anyObject('an object of vital signs')),
  notes: optText,
  notesSplice: v.nullish(v.object({ index: int(0), deleteCount: int(0), insert: v.string('must be text') })),
  /** the records package checks the diagnosis itself */
  diagnosis: v.nullish(anyObject('an object')),
  queue: optName,
  status: optName,
  section: v.nullish(
    v.object({
      name: v.picklist(ENCOUNTER_SECTIONS, `must be one of ${ENCOUNTER_SECTIONS.join(', ')}`),
      status: v.picklist(['in-progress', 'done'], 'must be in-progress or done'),
    }),
  ),
})
export type UpdateEncounterRequest = v.InferOutput<typeof UpdateEncounterRequestSchema>

/** `POST /api/patients/:pid/prescriptions/:rxId/sign`: `expectedHash` is the version the clinician saw. */
export const SignPrescriptionRequestSchema = v.object({
  expectedHash: v.optional(hex64('the prescription hash you saw')),
})
export type SignPrescriptionRequest = v.InferOutput<typeof SignPrescriptionRequestSchema>

export const SignPrescriptionReplySchema = v.object({
  patientId: v.string(),
  prescriptionId: v.string(),
  hash: v.string(),
  signedNow: v.boolean(),
})
export type SignPrescriptionReply = v.InferOutput<typeof SignPrescriptionReplySchema>

/** One line of `GET /api/patients/:pid/prescriptions/:rxId/dispensed`. */
export const LineBalanceSchema = v.object({
  line: v.string(),
  /** null: a line written before coding */
  itemId: v.nullable(v.string()),
  drug: v.string(),
  prescribed: v.nullable(v.number()),
  /** units dispensed against the line on every tablet whose operations this device holds (settled or not) */
  dispensed: v.number(),
  remaining: v.nullable(v.number()),
})

/** `GET /api/patients/:pid/prescriptions/:rxId/dispensed`: per line, prescribed, dispensed across tablets, remaining. */
export const PrescriptionBalanceReplySchema = v.object({
  patientId: v.string(),
  prescriptionId: v.string(),
  lines: v.array(LineBalanceSchema),
  /**
   * the central office's status of the prescription (relay-signed; null: never changed centrally): while it is
   * `on-hold`, `cancelled` or `superseded` the device refuses dispenses (`PrescriptionNotActiveError`)
   */
  central: v.optional(
    v.nullable(v.object({ status: v.string(), reason: v.nullable(v.string()), at: v.nullable(v.string()) })),
  ),
})
export type PrescriptionBalanceReply = v.InferOutput<typeof PrescriptionBalanceReplySchema>

/**
 * `GET /api/patients/:id/visits/:encounterId` (issue 17 #3, history window): `here` / `fetched` (200) carry the visit;
 * `fetching` (202) says its year's archive is on its way and where it is (peers holding the year, the relay).
 */
export const VisitReplySchema = v.object({
  state: v.picklist(['here', 'fetched', 'fetching']),
  patientId: v.string(),
  encounterId: v.string(),
  archived: v.optional(
    v.object({
      year: v.number(),
      openedAt: v.optional(v.string()),
      closedAt: v.optional(v.string()),
      reason: v.optional(v.string()),
    }),
  ),
  encounter: v.optional(v.unknown()),
  where: v.optional(v.object({ peers: v.array(v.string()), relay: v.boolean() })),
})
export type VisitReply = v.InferOutput<typeof VisitReplySchema>
