import * as A from '@automerge/automerge'
import type { EncounterId } from '@clinic-mesh/contracts'
import { describe, expect, it } from 'vitest'
import {
  addProblem,
  editNotes,
  needsReview,
  openEncounter,
  recordAllergy,
  recordVitals,
  resolveReview,
  setAllergySeverity,
  setQueueStatus,
  spliceNotes,
  str,
  updateDemographics,
} from '@clinic-mesh/records'
import { clerk, doctor, mergeAll, nurse, replicas, thrown, withPatient } from './fixtures.js'

function withEncounter() {
  const { doc, pid } = withPatient()
  let eid = '' as EncounterId
  const next = A.change(doc, (d) => {
    eid = openEncounter(d.charts[pid]!, { reason: 'fever and cough' }, clerk)
    editNotes(d.charts[pid]!, eid, 'Fever 3 days.', doctor)
  })
  return { doc: next, pid, eid }
}

describe('concurrent edits merge', () => {
  it('merges independent fields written by different roles on three tablets', () => {
    const { doc, pid, eid } = withEncounter()
    const [reg, tri, doc3] = replicas(doc, 3)
    const r1 = A.change(reg!, (d) => setQueueStatus(d.charts[pid]!, eid, 'triage', clerk))
    const r2 = A.change(tri!, (d) =>
      recordVitals(d.charts[pid]!, eid, { temperatureC: 38.4, pulseBpm: 104 }, nurse),
    )
    const r3 = A.change(doc3!, (d) => updateDemographics(d.charts[pid]!, { given: 'Grace T.' }, clerk))
    const m = mergeAll([r1, r2, r3])
    const chart = m.charts[pid]!
    expect(str(chart.encounters[eid]!.registration.queue)).toBe('triage')
    expect(Object.values(chart.encounters[eid]!.triage.vitals).map((v) => v.values)).toEqual([
      { temperatureC: 38.4, pulseBpm: 104 },
    ])
    expect(str(chart.patient.name.given)).toBe('Grace T.')
    expect(needsReview(m)).toEqual([])
  })

  it('merges clinical notes character by character (both clinicians keep their words)', () => {
    const { doc, pid, eid } = withEncounter()
    const [a, b] = replicas(doc, 2)
    const ra = A.change(a!, (d) => editNotes(d.charts[pid]!, eid, 'Fever 3 days. Chest clear.', doctor))
    const rb = A.change(b!, (d) => spliceNotes(d.charts[pid]!, eid, 0, 0, 'Seen with mother. ', nurse))
    const m = A.merge(ra, rb)
    expect(m.charts[pid]!.encounters[eid]!.clinician.notes).toBe(
      'Seen with mother. Fever 3 days. Chest clear.',
    )
    expect(m.charts[pid]!.encounters[eid]!.clinician.notes).toBe(
      A.merge(rb, ra).charts[pid]!.encounters[eid]!.clinician.notes,
    )
  })

  it('keeps every concurrently added vitals set, allergy and problem (add-wins)', () => {
    const { doc, pid, eid } = withEncounter()
    const [a, b, c] = replicas(doc, 3)
    const ra = A.change(a!, (d) => {
      recordVitals(d.charts[pid]!, eid, { temperatureC: 38.1 }, nurse)
      recordAllergy(d.charts[pid]!, { substance: 'penicillin', severity: 'severe', reaction: 'rash' }, nurse)
    })
    const rb = A.change(b!, (d) => {
      recordVitals(d.charts[pid]!, eid, { systolic: 120, diastolic: 80 }, doctor)
      recordAllergy(d.charts[pid]!, { substance: 'peanuts', severity: 'moderate' }, doctor)
    })
    const rc = A.change(c!, (d) => addProblem(d.charts[pid]!, { text: 'Hypertension', code: 'I10' }, doctor))
    const chart = mergeAll([ra, rb, rc]).charts[pid]!
    expect(Object.keys(chart.encounters[eid]!.triage.vitals)).toHaveLength(2)
    expect(
      Object.values(chart.patient.allergies)
        .map((x) => str(x.substance))
        .sort(),
    ).toEqual(['peanuts', 'penicillin'])
    expect(Object.values(chart.patient.problems).map((x) => str(x.text))).toEqual(['Hypertension'])
  })

  it('rejects implausible vitals with InvalidRecordError and writes nothing', () => {
    const { doc, pid, eid } = withEncounter()
    for (const vitals of [
      { temperatureC: 98.6 },
      { spo2: 140 },
      { systolic: 80, diastolic: 120 },
      { systolic: 120 },
      {},
    ]) {
      const err = thrown(() => A.change(doc, (d) => recordVitals(d.charts[pid]!, eid, vitals, nurse)))
      expect(err.name).toBe('InvalidRecordError')
    }
    expect(doc.charts[pid]!.encounters[eid]!.triage.vitals).toEqual({})
  })
})

describe('needsReview', () => {
  it('surfaces both values of a concurrently edited allergy severity, and clears after resolveReview', () => {
    const start = withPatient()
    const pid = start.pid
    let doc = start.doc
    let alg = ''
    doc = A.change(doc, (d) => {
      alg = recordAllergy(d.charts[pid]!, { substance: 'penicillin', severity: 'mild' }, nurse)
    })
    const [a, b] = replicas(doc, 2)
    const ra = A.change(a!, (d) => setAllergySeverity(d.charts[pid]!, alg, 'severe', nurse))
    const rb = A.change(b!, (d) => setAllergySeverity(d.charts[pid]!, alg, 'moderate', doctor))
    const m = A.merge(ra, rb)
    const winner = str(m.charts[pid]!.patient.allergies[alg]!.severity)
    expect(['severe', 'moderate']).toContain(winner)
    const markers = needsReview(m)
    expect(markers).toHaveLength(1)
    const marker = markers[0]!
    expect(marker.path).toEqual(['charts', pid, 'patient', 'allergies', alg, 'severity'])
    expect(marker.winner).toBe(winner)
    expect([marker.winner, ...marker.others].sort()).toEqual(['moderate', 'severe'])
    // the same winner on every replica
    expect(str(A.merge(rb, ra).charts[pid]!.patient.allergies[alg]!.severity)).toBe(winner)

    expect(thrown(() => A.change(m, (d) => resolveReview(d, marker, 'mild', doctor))).name).toBe(
      'InvalidRecordError',
    )
    const resolved = A.change(m, (d) => resolveReview(d, marker, 'severe', doctor))
    expect(str(resolved.charts[pid]!.patient.allergies[alg]!.severity)).toBe('severe')
    expect(needsReview(resolved)).toEqual([])
  })

  it('is empty for sequential edits and for equal concurrent values', () => {
    const { doc, pid, eid } = withEncounter()
    const seq = A.change(doc, (d) => setQueueStatus(d.charts[pid]!, eid, 'triage', clerk))
    const [a, b] = replicas(seq, 2)
    const ra = A.change(a!, (d) => setQueueStatus(d.charts[pid]!, eid, 'consultation', nurse))
    const rb = A.change(b!, (d) => setQueueStatus(d.charts[pid]!, eid, 'consultation', doctor))
    expect(needsReview(A.merge(ra, rb))).toEqual([])
  })

  it('can be limited to some patients', () => {
    const { doc, pid } = withPatient()
    const [a, b] = replicas(doc, 2)
    const m = A.merge(
      A.change(a!, (d) => updateDemographics(d.charts[pid]!, { birthDate: '1984-03-21' }, clerk)),
      A.change(b!, (d) => updateDemographics(d.charts[pid]!, { birthDate: '1984-12-03' }, nurse)),
    )
    expect(needsReview(m, { patientIds: [pid] }).map((x) => x.path.at(-1))).toEqual(['birthDate'])
    expect(needsReview(m, { patientIds: ['pt_other'] })).toEqual([])
  })
})
