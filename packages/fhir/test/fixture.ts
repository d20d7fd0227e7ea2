import * as A from '@automerge/automerge'
import { ed25519 } from '@noble/curves/ed25519.js'
import type {
  DeviceId,
  OperationId,
  PatientId,
  PrescriptionId,
  UserId,
  ItemId,
  BatchId,
  LocationId,
} from '@clinic-mesh/contracts'
import type { OperationOf } from '@clinic-mesh/ledger'
import {
  addDiagnosis,
  addProblem,
  correctAdministration,
  createPrescription,
  emptyCollection,
  linkPatients,
  openEncounter,
  plain,
  recordAdministration,
  recordAllergy,
  recordVitals,
  registerPatient,
  setEncounterStatus,
  setProblemStatus,
  signPrescription,
} from '@clinic-mesh/records'
import type { PlainChart, PlainLink } from '@clinic-mesh/fhir'

const clerk = { user: 'usr_clerk' as UserId, device: 'dev_front' as DeviceId, at: '2026-03-01T08:00:00Z' }
const nurse = { user: 'usr_nurse' as UserId, device: 'dev_triage' as DeviceId, at: '2026-03-01T08:20:00Z' }
const clinician = {
  user: 'usr_clinician' as UserId,
  device: 'dev_consult' as DeviceId,
  at: '2026-03-01T09:00:00Z',
}

export interface Visit {
  chart: PlainChart
  links: PlainLink[]
  patientId: string
  encounterId: string
  rxId: string
  itemIds: string[]
  dispense: OperationOf<'dispense'>
}

/** A full visit written with the records helpers: registration, allergy, problems, vitals, diagnoses, a signed Rx, MAR with a correction, a same-person link. */
export function fullVisit(): Visit {
  let doc = A.from(emptyCollection())
  let pid = ''
  let eid = ''
  let rx = { id: '', itemIds: [] as string[] }
  doc = A.change(doc, (d) => {
    pid = registerPatient(
      d,
      {
        given: 'Grace',
        family: 'Banda',
        birthDate: '1984-03-12',
        sex: 'female',
        identifiers: [
          { system: 'national-id', value: 'MW100001' },
          { system: 'https://moh.example.mw/mrn', value: 'MRN-77' },
        ],
      },
      clerk,
    )
    const other = registerPatient(
      d,
      { given: 'Grace', family: 'Banda', birthDate: '1984-03-12', sex: 'female' },
      clerk,
    )
    linkPatients(d, pid as PatientId, other, clerk)
    const chart = d.charts[pid]!
    recordAllergy(chart, { substance: 'penicillin', severity: 'severe', reaction: 'hives' }, nurse)
    recordAllergy(chart, { substance: 'peanut', severity: 'mild' }, nurse)
    addProblem(chart, { text: 'Hypertension', code: 'I10', onset: '2020-01-01' }, clinician)
    const wrong = addProblem(chart, { text: 'Asthma' }, clinician)
    setProblemStatus(chart, wrong, 'entered-in-error', clinician)
    eid = openEncounter(chart, { reason: 'fever and cough' }, clerk)
    recordVitals(
      chart,
      eid,
      {
        temperatureC: 38.4,
        pulseBpm: 104,
        respRate: 22,
        systolic: 128,
        diastolic: 84,
        spo2: 96,
        weightKg: 61.5,
        heightCm: 163,
        glucoseMmolL: 5.4,
      },
      nurse,
    )
    recordVitals(chart, eid, { systolic: 124, diastolic: 80 }, { ...nurse, at: '2026-03-01T08:40:00Z' })
    addDiagnosis(
      chart,
      eid,
      { text: 'Community-acquired pneumonia', code: 'J18.9', certainty: 'provisional' },
      clinician,
    )
    addDiagnosis(chart, eid, { text: 'Malaria, rapid test positive', certainty: 'confirmed' }, clinician)
    rx = createPrescription(
      chart,
      {
        encounterId: eid as never,
        items: [
          {
            itemId: 'itm_amoxicillin-250-cap',
            quantity: 30,
            drug: 'amoxicillin 500 mg capsule',
            dose: '500 mg',
            route: 'oral',
            frequency: 'three times daily',
            duration: '5 days',
          },
          {
            itemId: 'itm_paracetamol-500-tab',
            quantity: 20,
            drug: 'paracetamol 500 mg tablet',
            dose: '1 g',
            route: 'oral',
            frequency: 'every 6 hours as needed',
            duration: 'until fever settles',
            instructions: 'with water',
          },
        ],
      },
      clinician,
    )
    signPrescription(chart, rx.id, ed25519.utils.randomSecretKey(), clinician, {
      device: { peerId: '12D3KooWExample', secretKey: ed25519.utils.randomSecretKey() },
    })
    const given = recordAdministration(
      chart,
      {
        drug: 'amoxicillin 500 mg capsule',
        dose: '500 mg',
        route: 'oral',
        status: 'given',
        administeredAt: '2026-03-01T10:00:00Z',
        prescriptionId: rx.id,
        itemId: rx.itemIds[0]!,
      },
      nurse,
    )
    correctAdministration(
      chart,
      given,
      {
        drug: 'amoxicillin 500 mg capsule',
        dose: '250 mg',
        route: 'oral',
        status: 'given',
        administeredAt: '2026-03-01T10:00:00Z',
        note: 'half dose given',
      },
      nurse,
    )
    recordAdministration(
      chart,
      {
        id: 'mar:custom id/1',
        drug: 'paracetamol 500 mg tablet',
        dose: '1 g',
        route: 'oral',
        status: 'refused',
        administeredAt: '2026-03-01T10:05:00Z',
      },
      nurse,
    )
    setEncounterStatus(chart, eid, 'closed', clinician)
  })
  const dispense = {
    v: 1,
    id: 'disp-1' as OperationId,
    device: 'dev_pharmacy' as DeviceId,
    user: 'usr_pharmacist' as UserId,
    role: 'pharmacist',
    site: 'site_main' as LocationId,
    hlc: { wall: Date.parse('2026-03-01T09:30:00Z'), counter: 0, node: 'dev_pharmacy' },
    seq: 3,
    prev: 'a'.repeat(64),
    hash: 'b'.repeat(64),
    kind: 'dispense',
    item: 'amoxicillin-500' as ItemId,
    batch: 'LOT-A1' as BatchId,
    quantity: 15,
    patient: pid as PatientId,
    prescription: rx.id as PrescriptionId,
    prescriptionHash: 'c'.repeat(64),
    priceSeen: 120,
    stockSeen: 100,
  } as const satisfies OperationOf<'dispense'>
  return {
    chart: plain(doc.charts[pid]) as PlainChart,
    links: Object.values(plain(doc.links) as Record<string, PlainLink>),
    patientId: pid,
    encounterId: eid,
    rxId: rx.id,
    itemIds: rx.itemIds,
    dispense,
  }
}
