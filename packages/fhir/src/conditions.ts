import type { CodeableConcept, Condition } from '@medplum/fhirtypes'
import type { Diagnosis, Problem } from '@clinic-mesh/records'
import { fhirId, ourIdentifier, patientRef, ref, userRef } from './ids.js'
import type { Plain } from './plain.js'
import { CONDITION_CATEGORY, CONDITION_CLINICAL, CONDITION_VERIFICATION, ICD10 } from './systems.js'
import { userOf } from '@clinic-mesh/records'

const ICD10_CODE = /^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$/

/** Our free-text condition with its optional code: an ICD-10-shaped code is coded as ICD-10, any other code as text only. */
export function conditionCode(text: string, code: string | undefined): CodeableConcept {
  if (code && ICD10_CODE.test(code)) return { coding: [{ system: ICD10, code }], text }
  return { text: code ? `${text} (${code})` : text }
}

function coded(system: string, code: string): CodeableConcept {
  return { coding: [{ system, code }] }
}

/** An encounter diagnosis: category encounter-diagnosis, provisional/confirmed → verificationStatus, clinically active. */
export function diagnosisToCondition(
  patientId: string,
  encounterId: string,
  diagnosisId: string,
  d: Plain<Diagnosis>,
): Condition {
  return {
    resourceType: 'Condition',
    id: fhirId(diagnosisId),
    identifier: [ourIdentifier('diagnosis', diagnosisId)],
    clinicalStatus: coded(CONDITION_CLINICAL, 'active'),
    verificationStatus: coded(
      CONDITION_VERIFICATION,
      d.certainty === 'confirmed' ? 'confirmed' : 'provisional',
    ),
    category: [coded(CONDITION_CATEGORY, 'encounter-diagnosis')],
    code: conditionCode(d.text, d.code),
    subject: patientRef(patientId),
    encounter: ref('Encounter', encounterId),
    recordedDate: d.at,
    recorder: userRef(userOf(d.by)),
  }
}

/**
 * A problem-list entry: category problem-list-item, status → clinicalStatus (active/inactive/resolved); an entry in
 * error has verificationStatus entered-in-error and no clinicalStatus (R4 con-5).
 */
export function problemToCondition(patientId: string, problemId: string, p: Plain<Problem>): Condition {
  const out: Condition = {
    resourceType: 'Condition',
    id: fhirId(problemId),
    identifier: [ourIdentifier('problem', problemId)],
    category: [coded(CONDITION_CATEGORY, 'problem-list-item')],
    code: conditionCode(p.text, p.code),
    subject: patientRef(patientId),
    recordedDate: p.recordedAt,
    recorder: userRef(userOf(p.recordedBy)),
  }
  if (p.status === 'entered-in-error')
    out.verificationStatus = coded(CONDITION_VERIFICATION, 'entered-in-error')
  else {
    out.clinicalStatus = coded(CONDITION_CLINICAL, p.status)
    out.verificationStatus = coded(CONDITION_VERIFICATION, 'confirmed')
  }
  if (p.onset) out.onsetDateTime = p.onset
  return out
}
