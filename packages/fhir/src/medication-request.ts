import type { Duration, MedicationRequest, Reference } from '@medplum/fhirtypes'
import type { Prescription, RxItem } from '@clinic-mesh/records'
import { childId, ourIdentifier, patientRef, ref, userRef } from './ids.js'
import type { Plain } from './plain.js'
import { UCUM } from './systems.js'
import { userOf } from '@clinic-mesh/records'

type PlainRx = Plain<Prescription>

/** The FHIR id of the MedicationRequest for one item of a prescription. */
export function medicationRequestId(rxId: string, itemId: string): string {
  return childId(rxId, itemId)
}

/** References to every MedicationRequest of a prescription (what a dispense of it was authorised by). */
export function prescriptionRefs(rx: PlainRx): Reference<MedicationRequest>[] {
  return Object.keys(rx.items).map((itemId) => ({
    reference: `MedicationRequest/${medicationRequestId(rx.id, itemId)}`,
  }))
}

const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(day|days|d|week|weeks|wk|month|months|mo)\s*$/i

/** "5 days" / "2 weeks" / "1 month" as a UCUM Duration; any other wording stays text in the dosage. */
export function parseDuration(text: string): Duration | undefined {
  const m = DURATION.exec(text)
  if (!m?.[1] || !m[2]) return undefined
  const unit = m[2].toLowerCase()
  const code = unit.startsWith('d') ? 'd' : unit.startsWith('w') ? 'wk' : 'mo'
  const name = code === 'd' ? 'days' : code === 'wk' ? 'weeks' : 'months'
  return { value: Number(m[1]), unit: name, system: UCUM, code }
}

function dosageText(item: Plain<RxItem>): string {
  return [item.dose, item.route, item.frequency, item.duration ? `for ${item.duration}` : '']
    .filter(Boolean)
    .join(' ')
}

/**
 * One MedicationRequest per item of a prescription (FHIR's request names one medication): the prescription id as
 * `groupIdentifier`, status `active` once signed (`draft` before), intent `order`, the drug as text, the dosage as
 * text with route, frequency (timing text) and the duration as the supply duration when it parses, authored when
 * signed (created for a draft), requester the signing clinician (the author of a draft).
 */
export function toMedicationRequests(patientId: string, rx: PlainRx): MedicationRequest[] {
  const signed = rx.status === 'signed' && rx.signed !== undefined
  return Object.entries(rx.items).map(([itemId, item]) => {
    const duration = parseDuration(item.duration)
    const out: MedicationRequest = {
      resourceType: 'MedicationRequest',
      id: medicationRequestId(rx.id, itemId),
      identifier: [ourIdentifier('prescriptionItem', `${rx.id}/${itemId}`)],
      groupIdentifier: ourIdentifier('prescription', rx.id),
      status: signed ? 'active' : 'draft',
      intent: 'order',
      medicationCodeableConcept: { text: item.drug },
      subject: patientRef(patientId),
      authoredOn: signed ? rx.signed?.signedAt : rx.createdAt,
      requester: userRef((signed ? userOf(rx.signed?.signedBy) : '') || userOf(rx.createdBy)),
      dosageInstruction: [
        {
          text: dosageText(item),
          route: { text: item.route },
          timing: { code: { text: item.frequency } },
          ...(item.instructions ? { patientInstruction: item.instructions } : {}),
        },
      ],
    }
    if (rx.encounterId) out.encounter = ref('Encounter', rx.encounterId)
    if (duration) out.dispenseRequest = { expectedSupplyDuration: duration }
    return out
  })
}
