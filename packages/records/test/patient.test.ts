import * as A from '@automerge/automerge'
import { describe, expect, it } from 'vitest'
import {
  SCHEMA_VERSION,
  addIdentifier,
  emptyCollection,
  actorOf,
  migrateCollection,
  needsMigration,
  recordAllergy,
  registerPatient,
  str,
  summarize,
  updateDemographics,
  type ChartCollection,
} from '@clinic-mesh/records'
import { actor, clerk, grace, nurse, thrown, withPatient, T0 } from './fixtures.js'

describe('registerPatient', () => {
  it('adds a chart with demographics, identifiers and who registered it', () => {
    const { doc, pid } = withPatient()
    const chart = doc.charts[pid]!
    expect(str(chart.patient.id)).toBe(pid)
    expect(str(chart.patient.name.given)).toBe('Grace')
    expect(str(chart.patient.sex)).toBe('female')
    expect(Object.keys(chart.patient.identifiers)).toEqual(['national-id|MW100001'])
    expect(actorOf(chart.patient.createdBy)).toEqual({ user: 'usr_clerk', device: 'dev_tab2' })
    expect(str(chart.patient.createdAt)).toBe(T0)
    expect(summarize(chart)).toEqual({
      id: pid,
      given: 'Grace',
      family: 'Banda',
      birthDate: '1984-03-12',
      sex: 'female',
      identifiers: ['national-id|MW100001'],
      updatedAt: T0,
    })
  })

  it('survives save/load with whole-value strings intact', () => {
    const { doc, pid } = withPatient()
    const loaded = A.load<ChartCollection>(A.save(doc))
    expect(summarize(loaded.charts[pid]!)).toEqual(summarize(doc.charts[pid]!))
  })

  it.each([
    ['birth date format', { birthDate: '12/03/1984' }],
    ['impossible birth date', { birthDate: '1984-02-30' }],
    ['future birth date', { birthDate: '2999-01-01' }],
    ['sex outside the enum', { sex: 'f' as never }],
    ['no name at all', { given: ' ', family: '' }],
    ['identifier without value', { identifiers: [{ system: 'national-id', value: '' }] }],
    ['identifier system with a bar', { identifiers: [{ system: 'a|b', value: '1' }] }],
  ])('rejects %s with InvalidRecordError and writes nothing', (_label, patch) => {
    const doc = A.from(emptyCollection())
    const err = thrown(() => A.change(doc, (d) => registerPatient(d, grace(patch), clerk)))
    expect(err.name).toBe('InvalidRecordError')
    expect(Object.keys(doc.charts)).toEqual([])
  })

  it('names every broken rule of a registration at once, each with its field', () => {
    const doc = A.from(emptyCollection())
    const err = thrown(() =>
      A.change(doc, (d) =>
        registerPatient(d, grace({ given: ' ', family: '', birthDate: '', sex: '' as never }), clerk),
      ),
    ) as Error & { issues?: { path: string; message: string }[] }
    expect(err.name).toBe('InvalidRecordError')
    expect(err.issues).toEqual([
      { path: 'patient.birthDate', message: 'is required' },
      { path: 'patient.sex', message: 'is required' },
      { path: 'patient.given', message: 'or a family name is required' },
    ])
    expect(err.message).toBe(
      'patient.birthDate is required; patient.sex is required; patient.given or a family name is required',
    )
  })

  it('rejects an actor without a device, and a registered id twice', () => {
    const doc = A.from(emptyCollection())
    expect(thrown(() => A.change(doc, (d) => registerPatient(d, grace(), actor('usr_x', '')))).name).toBe(
      'InvalidRecordError',
    )
    const { doc: one, pid } = withPatient()
    expect(thrown(() => A.change(one, (d) => registerPatient(d, grace({ id: pid }), clerk))).name).toBe(
      'DuplicateRecordError',
    )
  })

  it('rejects an invalid allergy without touching the chart', () => {
    const { doc, pid } = withPatient()
    const err = thrown(() =>
      A.change(doc, (d) =>
        recordAllergy(d.charts[pid]!, { substance: 'penicillin', severity: 'deadly' as never }, nurse),
      ),
    )
    expect(err.name).toBe('InvalidRecordError')
    expect(doc.charts[pid]!.patient.allergies).toEqual({})
  })

  it('moves updatedAt when searchable fields change', () => {
    const { doc, pid } = withPatient()
    const later = actor('usr_clerk', 'dev_tab2', '2026-11-21T10:00:00.000Z')
    const next = A.change(doc, (d) => {
      updateDemographics(d.charts[pid]!, { family: 'Phiri' }, later)
      addIdentifier(d.charts[pid]!, { system: 'art', value: 'ART-77' }, later)
    })
    const s = summarize(next.charts[pid]!)
    expect(s.family).toBe('Phiri')
    expect(s.given).toBe('Grace')
    expect(s.identifiers).toEqual(['art|ART-77', 'national-id|MW100001'])
    expect(s.updatedAt).toBe('2026-11-21T10:00:00.000Z')
  })
})

describe('schema migration', () => {
  it('upgrades a v1 collection (patients without updatedAt) to the current version in place', () => {
    const { doc, pid } = withPatient()
    // Build what v1 code wrote: schema 1, no patient.updatedAt.
    const v1 = A.change(doc, (d) => {
      d.schema = 1
      delete (d.charts[pid]!.patient as Partial<ChartCollection['charts'][string]['patient']>).updatedAt
    })
    expect(needsMigration(v1)).toBe(true)
    let result = { from: 0, to: 0 }
    const v2 = A.change(v1, (d) => {
      result = migrateCollection(d)
    })
    expect(result).toEqual({ from: 1, to: SCHEMA_VERSION })
    expect(v2.schema).toBe(SCHEMA_VERSION)
    expect(str(v2.charts[pid]!.patient.updatedAt)).toBe(str(v2.charts[pid]!.patient.createdAt))
    expect(needsMigration(v2)).toBe(false)
  })

  it('two replicas migrating concurrently converge without losing writes', () => {
    const { doc, pid } = withPatient()
    const v1 = A.change(doc, (d) => {
      d.schema = 1
      delete (d.charts[pid]!.patient as Partial<ChartCollection['charts'][string]['patient']>).updatedAt
    })
    const a = A.change(A.clone(v1), (d) => {
      migrateCollection(d)
      recordAllergy(d.charts[pid]!, { substance: 'sulfa', severity: 'mild' }, nurse)
    })
    const b = A.change(A.clone(v1), (d) => {
      migrateCollection(d)
    })
    const m = A.merge(a, b)
    expect(m.schema).toBe(SCHEMA_VERSION)
    expect(Object.keys(m.charts[pid]!.patient.allergies)).toHaveLength(1)
  })

  it('refuses a collection written by newer code', () => {
    const doc = A.from({ ...emptyCollection(), schema: SCHEMA_VERSION + 1 })
    expect(thrown(() => A.change(doc, (d) => migrateCollection(d))).name).toBe('UnsupportedSchemaError')
  })
})
