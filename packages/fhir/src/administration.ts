import type { MedicationAdministration, Provenance, Quantity } from '@medplum/fhirtypes'
import type { MarEvent } from '@clinic-mesh/records'
import { childId, fhirId, ourIdentifier, patientRef, userRef } from './ids.js'
import { medicationRequestId } from './medication-request.js'
import type { Plain } from './plain.js'
import { DATA_OPERATION, PROVENANCE_PARTICIPANT, UCUM } from './systems.js'
import { userOf } from '@clinic-mesh/records'

type PlainMar = Plain<MarEvent>

const UNITS: Record<string, string> = {
  mg: 'mg',
  g: 'g',
  mcg: 'ug',
  ug: 'ug',
  µg: 'ug',
  ml: 'mL',
  l: 'L',
  iu: '[iU]',
  mmol: 'mmol',
}
const DOSE = /^\s*(\d+(?:\.\d+)?)\s*([a-zµ]+)\s*$/i

/** "500 mg" / "2.5 mL" / "100 mcg" as a UCUM SimpleQuantity; anything else (e.g. "1 tablet") undefined. */
export function parseDose(text: string): Quantity | undefined {
  const m = DOSE.exec(text)
  const code = m?.[2] ? UNITS[m[2].toLowerCase()] : undefined
  if (!m?.[1] || !code) return undefined
  return { value: Number(m[1]), unit: m[2], system: UCUM, code }
}

const STATUS: Record<PlainMar['status'], MedicationAdministration['status']> = {
  given: 'completed',
  held: 'on-hold',
  refused: 'not-done',
  missed: 'not-done',
  'entered-in-error': 'entered-in-error',
}

/**
 * MedicationAdministration from a MAR entry (every entry: the MAR is append-only): given → completed, held → on-hold,
 * refused/missed → not-done with the reason, entered-in-error; the dose and route as dosage text; the prescription
 * item it follows as `request`. A correction (`corrects`) names, in `eventHistory`, the Provenance that links it to the
 * entry it corrects (`marCorrectionProvenance`).
 */
export function toMedicationAdministration(patientId: string, e: PlainMar): MedicationAdministration {
  const out: MedicationAdministration = {
    resourceType: 'MedicationAdministration',
    id: fhirId(e.id),
    identifier: [ourIdentifier('mar', e.id)],
    status: STATUS[e.status],
    medicationCodeableConcept: { text: e.drug },
    subject: patientRef(patientId),
    effectiveDateTime: e.administeredAt,
    performer: [{ actor: userRef(userOf(e.by)) }],
  }
  const dose = parseDose(e.dose)
  if (dose) out.dosage = { text: e.dose, route: { text: e.route }, dose }
  // R4 mad-1: a dosage needs a dose quantity; a dose we cannot read as one ("1 tablet") stays in words in a note
  else out.note = [{ text: `dose ${e.dose}, route ${e.route}` }]
  if (e.status === 'refused' || e.status === 'missed')
    out.statusReason = [{ text: e.status === 'refused' ? 'refused by the patient' : 'missed' }]
  if (e.prescriptionId && e.itemId)
    out.request = { reference: `MedicationRequest/${medicationRequestId(e.prescriptionId, e.itemId)}` }
  if (e.note) out.note = [...(out.note ?? []), { text: e.note }]
  if (e.corrects) out.eventHistory = [{ reference: `Provenance/${childId(e.id, 'corrects')}` }]
  return out
}

/**
 * The link of a MAR correction to the entry it corrects: a Provenance (activity UPDATE) whose target is the correction
 * and whose `revision` entity is the corrected administration. Undefined for an entry that corrects nothing.
 */
export function marCorrectionProvenance(e: PlainMar): Provenance | undefined {
  if (!e.corrects) return undefined
  return {
    resourceType: 'Provenance',
    id: childId(e.id, 'corrects'),
    target: [{ reference: `MedicationAdministration/${fhirId(e.id)}` }],
    recorded: e.recordedAt,
    activity: { coding: [{ system: DATA_OPERATION, code: 'UPDATE', display: 'revise' }] },
    agent: [
      { type: { coding: [{ system: PROVENANCE_PARTICIPANT, code: 'enterer' }] }, who: userRef(userOf(e.by)) },
    ],
    entity: [{ role: 'revision', what: { reference: `MedicationAdministration/${fhirId(e.corrects)}` } }],
  }
}
