import type { Resource } from '@medplum/fhirtypes'
import type { OperationOf } from '@clinic-mesh/ledger'
import { marCorrectionProvenance, toMedicationAdministration } from './administration.js'
import { toAllergyIntolerance } from './allergy.js'
import { diagnosisToCondition, problemToCondition } from './conditions.js'
import { toMedicationDispense, type DispenseContext } from './dispense.js'
import { toEncounter } from './encounter.js'
import { toMedicationRequests } from './medication-request.js'
import { toPatient } from './patient.js'
import type { PlainChart, PlainLink } from './plain.js'
import { toPrescriptionProvenance } from './provenance.js'
import { toVitalsObservations } from './vitals.js'
import { toDevice, toPractitioner } from './agents.js'
import { actorOf } from '@clinic-mesh/records'

/** A dispense operation of the patient with what the caller knows of its settlement (see `DispenseContext`). */
export interface ChartDispense {
  readonly op: OperationOf<'dispense'>
  readonly state: DispenseContext['state']
  readonly itemName?: string
  readonly expiry?: string
}

export interface ChartResourceOptions {
  /** Same-person links of the collection (records `linkPatients`): the active ones touching this chart become Patient.link. */
  readonly links?: readonly PlainLink[]
  /** The patient's dispense operations (ledger), settled and tentative. */
  readonly dispenses?: readonly ChartDispense[]
  /** Names and roles of users (the user register), for the Practitioner resources; ids alone without it. */
  readonly users?: ReadonlyMap<string, { name?: string; role?: string }>
  /** Names and peer ids of devices, for the Device resources. */
  readonly devices?: ReadonlyMap<string, { name?: string; peerId?: string }>
  /** Only these resource types (a bulk export writes one type per file); all when omitted. */
  readonly types?: ReadonlySet<string>
}

/** Keys of a recorded actor (`by`, `createdBy`, `signedBy`...): packed `user device` or, before schema 3, a map. */
const ACTOR_KEY = /^(by|[a-z]+By)$/

/** Every actor recorded anywhere in the chart (who wrote what), for Practitioner and Device resources. */
function actors(value: unknown, users: Set<string>, devices: Set<string>): void {
  if (value === null || typeof value !== 'object') return
  if (Array.isArray(value)) {
    for (const v of value) actors(v, users, devices)
    return
  }
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const actor = ACTOR_KEY.test(k) ? actorOf(v) : undefined
    if (actor) {
      users.add(actor.user)
      devices.add(actor.device)
    } else actors(v, users, devices)
  }
}

/**
 * Every resource one chart maps to, in a stable order: Patient; per encounter the Encounter, its vital-sign
 * Observations and diagnosis Conditions; problem-list Conditions; AllergyIntolerances; per prescription its
 * MedicationRequests and, once signed, its Provenance; MedicationDispenses; MedicationAdministrations with the
 * Provenance of each correction; then the Practitioners and Devices the others reference.
 */
export function chartResources(chart: PlainChart, options: ChartResourceOptions = {}): Resource[] {
  const pid = chart.patient.id
  const want = (type: Resource['resourceType']): boolean => !options.types || options.types.has(type)
  const out: Resource[] = want('Patient') ? [toPatient(chart, options.links)] : []
  for (const [eid, e] of Object.entries(chart.encounters)) {
    if (want('Encounter')) out.push(toEncounter(pid, e))
    if (want('Observation'))
      for (const [vid, v] of Object.entries(e.triage.vitals))
        out.push(...toVitalsObservations(pid, eid, vid, v))
    if (want('Condition'))
      for (const [did, d] of Object.entries(e.clinician.diagnoses))
        out.push(diagnosisToCondition(pid, eid, did, d))
  }
  if (want('Condition'))
    for (const [id, p] of Object.entries(chart.patient.problems)) out.push(problemToCondition(pid, id, p))
  if (want('AllergyIntolerance'))
    for (const [id, a] of Object.entries(chart.patient.allergies)) out.push(toAllergyIntolerance(pid, id, a))
  for (const rx of Object.values(chart.prescriptions)) {
    if (want('MedicationRequest')) out.push(...toMedicationRequests(pid, rx))
    const signer = actorOf(rx.signed?.signedBy)?.device
    const prov = want('Provenance')
      ? toPrescriptionProvenance(rx, signer ? { device: signer } : {})
      : undefined
    if (prov) out.push(prov)
  }
  const users = new Set<string>()
  const devices = new Set<string>()
  for (const d of options.dispenses ?? []) {
    users.add(d.op.user)
    if (!want('MedicationDispense')) continue
    const rx = chart.prescriptions[d.op.prescription]
    out.push(
      toMedicationDispense(d.op, {
        state: d.state,
        ...(d.itemName ? { itemName: d.itemName } : {}),
        ...(d.expiry ? { expiry: d.expiry } : {}),
        ...(rx ? { prescription: rx } : {}),
      }),
    )
  }
  for (const e of Object.values(chart.mar)) {
    if (want('MedicationAdministration')) out.push(toMedicationAdministration(pid, e))
    const prov = want('Provenance') ? marCorrectionProvenance(e) : undefined
    if (prov) out.push(prov)
  }
  if (!want('Practitioner') && !want('Device')) return out
  actors(chart, users, devices)
  if (want('Practitioner'))
    for (const u of [...users].sort()) out.push(toPractitioner(u, options.users?.get(u)))
  if (want('Device')) for (const d of [...devices].sort()) out.push(toDevice(d, options.devices?.get(d)))
  return out
}

/** The resource types `chartResources` gives, in its order (one NDJSON file each in a bulk export). */
export const CHART_RESOURCE_TYPES = [
  'Patient',
  'Encounter',
  'Observation',
  'Condition',
  'AllergyIntolerance',
  'MedicationRequest',
  'Provenance',
  'MedicationDispense',
  'MedicationAdministration',
  'Practitioner',
  'Device',
] as const
