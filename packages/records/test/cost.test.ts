import * as A from '@automerge/automerge'
import type { PatientId } from '@clinic-mesh/contracts'
import { describe, expect, it } from 'vitest'
import {
  actorOf,
  emptyCollection,
  openEncounter,
  packActor,
  recordVitals,
  registerPatient,
  summarize,
  userOf,
  type ChartCollection,
} from '@clinic-mesh/records'
import { clerk, nurse } from './fixtures.js'

const N = 1000

function admit(d: ChartCollection, i: number): PatientId {
  const pid = registerPatient(
    d,
    {
      given: `Given${i}`,
      family: `Family${i % 97}`,
      birthDate: `19${String(40 + (i % 60)).padStart(2, '0')}-0${1 + (i % 9)}-1${i % 10}`,
      sex: i % 2 ? 'female' : 'male',
      identifiers: [{ system: 'national-id', value: `MW${100000 + i}` }],
    },
    clerk,
  )
  const chart = d.charts[pid]!
  const eid = openEncounter(chart, { reason: 'fever' }, clerk)
  recordVitals(
    chart,
    eid,
    { temperatureC: 37 + (i % 20) / 10, pulseBpm: 80, systolic: 120, diastolic: 80 },
    nurse,
  )
  return pid
}

describe('write cost (what a clinic of 10,000 charts pays)', () => {
  it('registerPatient + encounter + vitals writes a bounded number of ops per patient', () => {
    let doc = A.from(emptyCollection())
    doc = A.change(doc, (d) => admit(d, 0))
    const ops = A.decodeChange(A.getLastLocalChange(doc)!).ops.length
    // Budget: patient ~20 values, encounter with its containers ~25, vitals ~12. Text would cost one op per character.
    expect(ops).toBeLessThanOrEqual(70)
    const reg = A.change(A.from(emptyCollection()), (d) =>
      registerPatient(d, { given: 'A', family: 'B', birthDate: '2000-01-01', sex: 'unknown' }, clerk),
    )
    expect(A.decodeChange(A.getLastLocalChange(reg)!).ops.length).toBeLessThanOrEqual(25)
    console.warn(`records cost: ${ops} ops for registerPatient + openEncounter + recordVitals`)
  })

  it('records an actor as one value (schema 3): a registration 20 ops, a visit with vitals 22 (were 22 and 26)', () => {
    let pid = '' as PatientId
    let doc = A.change(A.from(emptyCollection()), (d) => {
      pid = registerPatient(
        d,
        {
          given: 'A',
          family: 'B',
          birthDate: '2000-01-01',
          sex: 'female',
          identifiers: [{ system: 'national-id', value: 'MW1' }],
        },
        clerk,
      )
    })
    const opsOf = (): number => A.decodeChange(A.getLastLocalChange(doc)!).ops.length
    // what a bulk import writes per chart: every value costs Automerge the same (~0.05 ms), a map more
    expect(opsOf()).toBeLessThanOrEqual(20)
    doc = A.change(doc, (d) => {
      const eid = openEncounter(d.charts[pid]!, { reason: 'fever' }, clerk)
      recordVitals(d.charts[pid]!, eid, { pulseBpm: 80 }, nurse)
    })
    expect(opsOf()).toBeLessThanOrEqual(22)
    const chart = doc.charts[pid]!
    expect(actorOf(chart.patient.createdBy)).toEqual({ user: clerk.user, device: clerk.device })
    expect(A.isImmutableString(chart.patient.createdBy)).toBe(true)
  })

  it('reads an actor in either stored form, and nothing else as one', () => {
    const packed = new A.ImmutableString('usr_a dev_b')
    const map = { user: new A.ImmutableString('usr_a'), device: new A.ImmutableString('dev_b') }
    for (const ref of [packed, map, 'usr_a dev_b', { user: 'usr_a', device: 'dev_b' }])
      expect(actorOf(ref)).toEqual({ user: 'usr_a', device: 'dev_b' })
    for (const ref of [undefined, null, '', 'usr_a', 'usr_a dev_b x', 'usr_a  dev_b', { user: 'usr_a' }, 5])
      expect(actorOf(ref)).toBeUndefined()
    expect(userOf(map)).toBe('usr_a')
    expect(userOf(undefined)).toBe('')
    expect(() => packActor({ user: 'usr a' as never, device: 'dev_b' as never })).toThrow(/white space/)
  })

  it(`admits ${N} patients into one collection document, one change each`, () => {
    let doc = A.from(emptyCollection())
    const t0 = performance.now()
    for (let i = 0; i < N; i++) doc = A.change(doc, (d) => admit(d, i))
    const ms = (performance.now() - t0) / N
    const bytes = A.save(doc).length
    console.warn(
      `records cost: ${ms.toFixed(3)} ms per patient over ${N} patients; saved doc ${bytes} bytes (${(bytes / N).toFixed(0)} B/patient)`,
    )
    expect(Object.keys(doc.charts)).toHaveLength(N)
    const first = Object.values(doc.charts)[0]!
    expect(summarize(first).identifiers).toEqual(['national-id|MW100000'])
    // A loose guard against accidental quadratic work, not a benchmark (shared 2-core machines).
    expect(ms).toBeLessThan(50)
  })
})
