import type { AllergyIntolerance } from '@medplum/fhirtypes'
import type { Allergy } from '@clinic-mesh/records'
import { fhirId, ourIdentifier, patientRef, userRef } from './ids.js'
import type { Plain } from './plain.js'
import { ALLERGY_CLINICAL } from './systems.js'
import { userOf } from '@clinic-mesh/records'

/**
 * AllergyIntolerance: the substance as text, clinically active, criticality from our severity (severe → high, else
 * low), the reaction (text) with its severity, recorded date and recorder. We keep no verification status: none is
 * exported (R4 allows it absent).
 */
export function toAllergyIntolerance(
  patientId: string,
  allergyId: string,
  a: Plain<Allergy>,
): AllergyIntolerance {
  const out: AllergyIntolerance = {
    resourceType: 'AllergyIntolerance',
    id: fhirId(allergyId),
    identifier: [ourIdentifier('allergy', allergyId)],
    clinicalStatus: { coding: [{ system: ALLERGY_CLINICAL, code: 'active' }] },
    criticality: a.severity === 'severe' ? 'high' : 'low',
    code: { text: a.substance },
    patient: patientRef(patientId),
    recordedDate: a.recordedAt,
    recorder: userRef(userOf(a.recordedBy)),
  }
  if (a.reaction) out.reaction = [{ manifestation: [{ text: a.reaction }], severity: a.severity }]
  return out
}
