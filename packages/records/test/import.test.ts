import * as A from '@automerge/automerge'
import type { EncounterId, PatientId } from '@clinic-mesh/contracts'
import { describe, expect, it } from 'vitest'
import {
  DuplicateRecordError,
  InvalidRecordError,
  editNotes,
  emptyCollection,
  importChart,
  openEncounter,
  plain,
  recordVitals,
  registerPatient,
  spliceNotes,
  type Chart,
  type ChartCollection,
} from '@clinic-mesh/records'
import { doctor, grace, nurse, replicas, thrown } from './fixtures.js'

const PID = 'pt_import1' as PatientId
const EID = 'enc_import1' as EncounterId
const NOTE = 'Fever 3 days, productive cough.'

function imported(): A.Doc<ChartCollection> {
  return A.change(A.from(emptyCollection()), (d) => {
    importChart(
      d,
      {
        ...grace({ id: PID }),
        encounters: [
          { id: EID, reason: 'fever', vitals: [{ temperatureC: 38.2, pulseBpm: 96 }], notes: NOTE },
        ],
      },
      nurse,
    )
  })
}

function stepwise(): A.Doc<ChartCollection> {
  return A.change(A.from(emptyCollection()), (d) => {
    registerPatient(d, grace({ id: PID }), nurse)
    const chart = d.charts[PID]!
    openEncounter(chart, { id: EID, reason: 'fever' }, nurse)
    recordVitals(chart, EID, { temperatureC: 38.2, pulseBpm: 96 }, nurse)
    editNotes(chart, EID, NOTE, nurse)
  })
}

/** The chart as JSON, vitals ids (random) replaced by their order. */
function shape(chart: Chart): unknown {
  const json = plain(chart) as { encounters: Record<string, { triage: { vitals: Record<string, unknown> } }> }
  for (const enc of Object.values(json.encounters))
    enc.triage.vitals = Object.fromEntries(Object.values(enc.triage.vitals).map((v, i) => [`v${i}`, v]))
  return json
}

describe('importChart (bulk import in one write)', () => {
  it('leaves exactly the chart registerPatient + openEncounter + recordVitals + editNotes leave', () => {
    expect(shape(imported().charts[PID]!)).toEqual(shape(stepwise().charts[PID]!))
  })

  it('writes the notes as collaborative text: concurrent edits after the import merge character by character', () => {
    const [a, b] = replicas(imported(), 2)
    const ra = A.change(a!, (d) => editNotes(d.charts[PID]!, EID, `${NOTE} Chest clear.`, doctor))
    const rb = A.change(b!, (d) => spliceNotes(d.charts[PID]!, EID, 0, 0, 'Seen with mother. ', nurse))
    const m = A.merge(ra, rb)
    expect(m.charts[PID]!.encounters[EID]!.clinician.notes).toBe(`Seen with mother. ${NOTE} Chest clear.`)
    expect(A.merge(rb, ra).charts[PID]!.encounters[EID]!.clinician.notes).toBe(
      m.charts[PID]!.encounters[EID]!.clinician.notes,
    )
  })

  it('keeps vitals added concurrently on two tablets beside the imported ones (add-wins)', () => {
    const [a, b] = replicas(imported(), 2)
    const ra = A.change(a!, (d) => recordVitals(d.charts[PID]!, EID, { temperatureC: 37.9 }, nurse))
    const rb = A.change(b!, (d) => recordVitals(d.charts[PID]!, EID, { pulseBpm: 88 }, nurse))
    const temps = Object.values(A.merge(ra, rb).charts[PID]!.encounters[EID]!.triage.vitals).map(
      (v) => v.values,
    )
    expect(temps).toHaveLength(3)
    expect(temps).toEqual(
      expect.arrayContaining([
        { temperatureC: 37.9 },
        { pulseBpm: 88 },
        { temperatureC: 38.2, pulseBpm: 96 },
      ]),
    )
  })

  it('validates like the step-by-step helpers and writes nothing of a rejected chart', () => {
    const doc = imported()
    expect(thrown(() => A.change(doc, (d) => importChart(d, grace({ id: PID }), nurse)))).toBeInstanceOf(
      DuplicateRecordError,
    )
    const bad = [
      { ...grace(), encounters: [{ reason: '' }] },
      { ...grace(), encounters: [{ reason: 'fever', vitals: [{ temperatureC: 90 }] }] },
      { ...grace(), encounters: [{ reason: 'fever', notes: 'x'.repeat(100_001) }] },
      { ...grace(), birthDate: '1984-02-30' },
    ]
    for (const input of bad) {
      let after = doc
      expect(thrown(() => (after = A.change(doc, (d) => importChart(d, input, nurse))))).toBeInstanceOf(
        InvalidRecordError,
      )
      expect(Object.keys(after.charts)).toEqual([PID])
    }
  })

  it('writes a chart without visits as registerPatient does', () => {
    const doc = A.change(A.from(emptyCollection()), (d) => importChart(d, grace({ id: PID }), nurse))
    const reg = A.change(A.from(emptyCollection()), (d) => registerPatient(d, grace({ id: PID }), nurse))
    expect(plain(doc.charts[PID])).toEqual(plain(reg.charts[PID]))
  })
})
