import type { Encounter, EncounterParticipant } from '@medplum/fhirtypes'
import { fhirId, ourIdentifier, patientRef, userRef } from './ids.js'
import type { Plain } from './plain.js'
import type { Encounter as OurEncounter } from '@clinic-mesh/records'
import { ACT_CODE, PARTICIPATION_TYPE } from './systems.js'
import { userOf } from '@clinic-mesh/records'

type PlainEncounter = Plain<OurEncounter>

/** Our status and queue place as an R4 Encounter.status. */
export function encounterStatus(e: PlainEncounter): Encounter['status'] {
  if (e.status === 'cancelled') return 'cancelled'
  if (e.status === 'closed') return 'finished'
  if (e.registration.queue === 'waiting') return 'arrived'
  if (e.registration.queue === 'triage') return 'triaged'
  return 'in-progress'
}

function participant(
  code: string,
  display: string,
  user: string | undefined,
  seen: Set<string>,
): EncounterParticipant[] {
  if (!user || seen.has(`${code}|${user}`)) return []
  seen.add(`${code}|${user}`)
  return [{ type: [{ coding: [{ system: PARTICIPATION_TYPE, code, display }] }], individual: userRef(user) }]
}

/**
 * Encounter: class ambulatory, status (open by queue place: arrived/triaged/in-progress; closed → finished;
 * cancelled), period (arrival → close), participants by role (the registering clerk as admitter, whoever took vitals or
 * wrote the pharmacy section as participants, the clinician who diagnosed or wrote the clinician section as attender),
 * reason as text.
 */
export function toEncounter(patientId: string, e: PlainEncounter): Encounter {
  const seen = new Set<string>()
  const participants: EncounterParticipant[] = [...participant('ADM', 'admitter', userOf(e.openedBy), seen)]
  for (const v of Object.values(e.triage.vitals))
    participants.push(...participant('PART', 'participant', userOf(v.by), seen))
  participants.push(...participant('PART', 'participant', userOf(e.triage.by), seen))
  participants.push(...participant('ATND', 'attender', userOf(e.clinician.by), seen))
  for (const d of Object.values(e.clinician.diagnoses))
    participants.push(...participant('ATND', 'attender', userOf(d.by), seen))
  participants.push(...participant('PART', 'participant', userOf(e.pharmacy.by), seen))
  for (const d of Object.values(e.pharmacy.dispensed))
    participants.push(...participant('PART', 'participant', userOf(d.by), seen))
  const out: Encounter = {
    resourceType: 'Encounter',
    id: fhirId(e.id),
    identifier: [ourIdentifier('encounter', e.id)],
    status: encounterStatus(e),
    class: { system: ACT_CODE, code: 'AMB', display: 'ambulatory' },
    subject: patientRef(patientId),
    period: { start: e.registration.arrivedAt || e.openedAt, ...(e.closedAt ? { end: e.closedAt } : {}) },
    reasonCode: [{ text: e.registration.reason }],
  }
  if (participants.length) out.participant = participants
  return out
}
