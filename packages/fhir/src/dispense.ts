import type { Medication, MedicationDispense, MedicationRequest, Reference } from '@medplum/fhirtypes'
import type { OperationOf } from '@clinic-mesh/ledger'
import { fhirId, ourIdentifier, patientRef, userRef } from './ids.js'
import { prescriptionRefs } from './medication-request.js'
import type { Plain } from './plain.js'
import type { Prescription } from '@clinic-mesh/records'
import { ID_SYSTEM, SETTLEMENT_TAG } from './systems.js'

/**
 * Where a dispense operation stands in stock settlement: decided by the relay (under its verified watermark), or
 * still tentative. Either way the medicine was handed over; the state goes into `meta.tag`, not the status.
 */
export type DispenseState = 'settled' | 'tentative'

export interface DispenseContext {
  readonly state: DispenseState
  /** The formulary name of the item, when the settled inventory names it. */
  readonly itemName?: string
  /** The lot's expiry (YYYY-MM-DD) from the settled inventory or the receipt that brought the lot in. */
  readonly expiry?: string
  /** The prescription dispensed against, when the chart is at hand (its items become `authorizingPrescription`). */
  readonly prescription?: Plain<Prescription>
}

/**
 * MedicationDispense from a ledger `dispense` operation: status completed (the pharmacy handed it over), its stock
 * settlement state as a `meta.tag` (`urn:clinic-mesh:settlement` settled | tentative), the item as a contained Medication whose batch carries the lot and its
 * expiry (R4's MedicationDispense has no lot field), quantity in units, handed over at the operation's clock time,
 * the dispensing user as performer, the prescription's MedicationRequests (or the prescription id) as authorisation.
 */
export function toMedicationDispense(op: OperationOf<'dispense'>, ctx: DispenseContext): MedicationDispense {
  const medication: Medication = {
    resourceType: 'Medication',
    id: 'med',
    code: {
      coding: [{ system: ID_SYSTEM.item, code: op.item, ...(ctx.itemName ? { display: ctx.itemName } : {}) }],
      text: ctx.itemName ?? op.item,
    },
  }
  if (op.batch)
    medication.batch = { lotNumber: op.batch, ...(ctx.expiry ? { expirationDate: ctx.expiry } : {}) }
  const authorizing: Reference<MedicationRequest>[] =
    ctx.prescription && Object.keys(ctx.prescription.items).length
      ? prescriptionRefs(ctx.prescription)
      : [{ identifier: ourIdentifier('prescription', op.prescription) }]
  return {
    resourceType: 'MedicationDispense',
    id: fhirId(op.id),
    identifier: [ourIdentifier('operation', op.id), { system: ID_SYSTEM.operationHash, value: op.hash }],
    meta: { tag: [{ system: SETTLEMENT_TAG, code: ctx.state }] },
    contained: [medication],
    status: 'completed',
    medicationReference: { reference: '#med' },
    subject: patientRef(op.patient),
    performer: [{ actor: userRef(op.user) }],
    authorizingPrescription: authorizing,
    quantity: { value: op.quantity, unit: 'unit' },
    whenHandedOver: new Date(op.hlc.wall).toISOString(),
  }
}
