import { describe, expect, it } from 'vitest'
import type { Bundle, Patient, Resource } from '@medplum/fhirtypes'
import { chartResources, FhirInputError, readImportBundle } from '@clinic-mesh/fhir'
import { fullVisit } from './fixture.js'

const visit = fullVisit()
const resources = chartResources(visit.chart)
const collection = (rs: Resource[]): Bundle => ({
  resourceType: 'Bundle',
  type: 'collection',
  entry: rs.map((r) => ({ fullUrl: `http://x/fhir/${r.resourceType}/${r.id}`, resource: r })),
})

describe('readImportBundle', () => {
  it('reads an export back into registration input, allergies and problems; every other entry is rejected with its reason', () => {
    const plan = readImportBundle(collection(resources))
    expect(plan.patients).toHaveLength(1)
    const p = plan.patients[0]!
    expect(p.ourId).toBe(visit.patientId)
    expect(p.register).toMatchObject({
      given: 'Grace',
      family: 'Banda',
      birthDate: '1984-03-12',
      sex: 'female',
    })
    expect(p.register.identifiers).toEqual(
      expect.arrayContaining([
        { system: 'national-id', value: 'MW100001' },
        { system: 'https://moh.example.mw/mrn', value: 'MRN-77' },
      ]),
    )
    expect(p.allergies.map((a) => a.input).sort((a, b) => a.substance.localeCompare(b.substance))).toEqual([
      { substance: 'peanut', severity: 'mild' },
      { substance: 'penicillin', severity: 'severe', reaction: 'hives' },
    ])
    // the problem in error is refused with its reason; diagnoses come in as problems
    expect(p.problems.map((x) => x.input.text).sort()).toEqual([
      'Community-acquired pneumonia',
      'Hypertension',
      'Malaria, rapid test positive',
    ])
    expect(p.problems.find((x) => x.input.text === 'Hypertension')?.input).toEqual({
      text: 'Hypertension',
      status: 'active',
      code: 'I10',
      onset: '2020-01-01',
    })
    const taken = 1 + p.allergies.length + p.problems.length
    expect(taken + plan.rejected.length).toBe(resources.length)
    expect(plan.rejected.find((r) => resources[r.index]?.resourceType === 'Observation')?.reason).toContain(
      'not imported',
    )
    expect(plan.rejected.some((r) => r.reason.includes('entered-in-error'))).toBe(true)
  })

  it('an allergy whose patient was rejected or is not in the Bundle is rejected, naming why', () => {
    const bad: Patient = { resourceType: 'Patient', name: [{ family: 'Phiri' }], gender: 'male' }
    const plan = readImportBundle({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:1', resource: bad },
        {
          resource: {
            resourceType: 'AllergyIntolerance',
            patient: { reference: 'urn:uuid:1' },
            code: { text: 'sulfa' },
          },
        },
        {
          resource: {
            resourceType: 'Condition',
            subject: { reference: 'Patient/elsewhere' },
            code: { text: 'asthma' },
          },
        },
        { resource: { resourceType: 'Condition', subject: { reference: 'urn:uuid:1' } } },
      ],
    })
    expect(plan.patients).toEqual([])
    expect(plan.rejected).toEqual([
      { index: 0, reason: 'Patient.birthDate is required (YYYY-MM-DD)' },
      { index: 1, reason: 'AllergyIntolerance: its patient (entry 0) was rejected' },
      { index: 2, reason: 'Condition: its patient is not a Patient of this Bundle' },
      { index: 3, reason: 'Condition: its patient (entry 0) was rejected' },
    ])
  })

  it('refuses what is not a collection, batch or transaction Bundle', () => {
    expect(() => readImportBundle({ resourceType: 'Patient' })).toThrow(FhirInputError)
    expect(() => readImportBundle({ resourceType: 'Bundle', type: 'searchset' })).toThrow(
      /collection, batch or transaction/,
    )
  })
})
