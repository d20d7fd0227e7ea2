import { describe, expect, it } from 'vitest'
import type {
  AllergyIntolerance,
  Condition,
  MedicationAdministration,
  MedicationDispense,
  MedicationRequest,
  Observation,
  Patient,
  Provenance,
  Resource,
} from '@medplum/fhirtypes'
import {
  chartResources,
  everythingBundle,
  LOINC,
  summaryBundle,
  UCUM,
  type ChartResourceOptions,
} from '@clinic-mesh/fhir'
import { fhirErrors } from '@clinic-mesh/fhir/validator'
import { fullVisit } from './fixture.js'

const visit = fullVisit()
const options: ChartResourceOptions = {
  links: visit.links,
  dispenses: [{ op: visit.dispense, state: 'settled', itemName: 'Amoxicillin 500 mg', expiry: '2027-06-30' }],
  users: new Map([['usr_clinician', { name: 'Dr Phiri', role: 'clinician' }]]),
}
const resources = chartResources(visit.chart, options)
const of = <T extends Resource>(type: T['resourceType']): T[] =>
  resources.filter((r): r is T => r.resourceType === type)

describe('every mapper gives valid FHIR R4 (medplum validator, base definitions and core profiles)', () => {
  it('maps every kind of record', () => {
    const types = new Set(resources.map((r) => r.resourceType))
    for (const t of [
      'Patient',
      'Encounter',
      'Observation',
      'Condition',
      'AllergyIntolerance',
      'MedicationRequest',
      'MedicationDispense',
      'MedicationAdministration',
      'Provenance',
      'Practitioner',
      'Device',
    ]) {
      expect(types.has(t as Resource['resourceType']), t).toBe(true)
    }
  })

  for (const r of resources) {
    it(`${r.resourceType}/${r.id} validates`, () => {
      expect(fhirErrors(r)).toEqual([])
    })
  }

  it('the $everything and $summary bundles validate as a whole', () => {
    const base = 'http://127.0.0.1:8080/fhir'
    expect(fhirErrors(everythingBundle(resources, { base }))).toEqual([])
    expect(
      fhirErrors(summaryBundle(resources, { base, device: { id: 'dev_consult', name: 'Consult room' } })),
    ).toEqual([])
  })

  it('ids are unique', () => {
    const keys = resources.map((r) => `${r.resourceType}/${r.id}`)
    expect(new Set(keys).size).toBe(keys.length)
  })
})

describe('a broken resource fails validation (the validator is really at work)', () => {
  it('a heart rate with the wrong LOINC code fails its profile', () => {
    const hr = of<Observation>('Observation').find((o) => o.code.coding?.[0]?.code === '8867-4')!
    const broken: Observation = { ...hr, code: { coding: [{ system: LOINC, code: '8310-5' }] } }
    expect(fhirErrors(broken).length).toBeGreaterThan(0)
  })
  it('a vital sign without its vital-signs category or effective time fails its profile', () => {
    const t = of<Observation>('Observation').find((o) => o.code.coding?.[0]?.code === '8310-5')!
    const { category: _c, ...noCategory } = t
    const { effectiveDateTime: _e, ...noTime } = t
    expect(fhirErrors(noCategory).join()).toContain('Observation.category')
    expect(fhirErrors(noTime).join()).toContain('effective')
  })
  it('a blood pressure panel without its components fails (vitalsigns vs-2/vs-3)', () => {
    const bp = of<Observation>('Observation').find((o) => o.code.coding?.[0]?.code === '85354-9')!
    const { component: _x, ...bare } = bp
    expect(fhirErrors(bare).length).toBeGreaterThan(0)
  })
  it('a Patient with a malformed birth date and an unknown field fails', () => {
    const p = of<Patient>('Patient')[0]!
    expect(fhirErrors({ ...p, birthDate: '12/03/1984' }).length).toBeGreaterThan(0)
    expect(fhirErrors({ ...p, favouriteColour: 'blue' } as Patient).length).toBeGreaterThan(0)
  })
  it('a Condition entered in error with a clinical status fails con-5', () => {
    const c = of<Condition>('Condition').find(
      (x) => x.verificationStatus?.coding?.[0]?.code === 'entered-in-error',
    )!
    expect(
      fhirErrors({
        ...c,
        clinicalStatus: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
        },
      }).length,
    ).toBeGreaterThan(0)
  })
})

describe('codes and values, field by field', () => {
  const vitals = of<Observation>('Observation').filter(
    (o) => o.category?.[0]?.coding?.[0]?.code === 'vital-signs',
  )
  const byCode = (code: string): Observation[] => vitals.filter((o) => o.code.coding?.[0]?.code === code)

  it.each([
    ['8867-4', '/min', 104, 'http://hl7.org/fhir/StructureDefinition/heartrate'],
    ['9279-1', '/min', 22, 'http://hl7.org/fhir/StructureDefinition/resprate'],
    ['8310-5', 'Cel', 38.4, 'http://hl7.org/fhir/StructureDefinition/bodytemp'],
    ['2708-6', '%', 96, 'http://hl7.org/fhir/StructureDefinition/oxygensat'],
    ['29463-7', 'kg', 61.5, 'http://hl7.org/fhir/StructureDefinition/bodyweight'],
    ['8302-2', 'cm', 163, 'http://hl7.org/fhir/StructureDefinition/bodyheight'],
  ])('LOINC %s in UCUM %s', (code, ucum, value, profile) => {
    const [o, more] = byCode(code)
    expect(more).toBeUndefined()
    expect(o?.code.coding?.[0]?.system).toBe(LOINC)
    expect(o?.valueQuantity).toMatchObject({ value, system: UCUM, code: ucum })
    expect(o?.meta?.profile).toEqual([profile])
    expect(o?.status).toBe('final')
    expect(o?.subject?.reference).toBe(`Patient/${visit.patientId.replace('_', '-')}`)
    expect(o?.encounter?.reference).toBe(`Encounter/${visit.encounterId.replace('_', '-')}`)
  })

  it('blood pressure: panel 85354-9 with systolic 8480-6 and diastolic 8462-4 in mm[Hg]; one panel per set', () => {
    const panels = byCode('85354-9')
    expect(panels).toHaveLength(2)
    const full = panels.find((p) => p.effectiveDateTime === '2026-03-01T08:20:00Z')!
    expect(full.valueQuantity).toBeUndefined()
    expect(
      full.component?.map((c) => [
        c.code.coding?.[0]?.system,
        c.code.coding?.[0]?.code,
        c.valueQuantity?.value,
        c.valueQuantity?.system,
        c.valueQuantity?.code,
      ]),
    ).toEqual([
      [LOINC, '8480-6', 128, UCUM, 'mm[Hg]'],
      [LOINC, '8462-4', 84, UCUM, 'mm[Hg]'],
    ])
    const second = panels.find((p) => p.effectiveDateTime === '2026-03-01T08:40:00Z')!
    expect(second.component?.map((c) => c.valueQuantity?.value)).toEqual([124, 80])
  })

  it('glucose is a laboratory Observation 15074-8 in mmol/L', () => {
    const g = of<Observation>('Observation').find((o) => o.code.coding?.[0]?.code === '15074-8')!
    expect(g.category?.[0]?.coding?.[0]?.code).toBe('laboratory')
    expect(g.valueQuantity).toMatchObject({ value: 5.4, system: UCUM, code: 'mmol/L' })
  })

  it('Patient: identifiers with systems, name, gender, birth date, the same-person link', () => {
    const p = of<Patient>('Patient')[0]!
    expect(p.identifier?.[0]).toEqual({ system: 'urn:clinic-mesh:patient', value: visit.patientId })
    expect(p.identifier).toHaveLength(3)
    expect(p.identifier).toEqual(
      expect.arrayContaining([
        { system: 'urn:clinic-mesh:identifier:national-id', value: 'MW100001' },
        { system: 'https://moh.example.mw/mrn', value: 'MRN-77' },
      ]),
    )
    expect(p.name).toEqual([{ use: 'official', family: 'Banda', given: ['Grace'] }])
    expect([p.gender, p.birthDate]).toEqual(['female', '1984-03-12'])
    expect(p.link).toHaveLength(1)
    expect(p.link?.[0]?.type).toBe('seealso')
  })

  it('Conditions: diagnoses provisional/confirmed, ICD-10 coded when the code is ICD-10, problems with clinical status', () => {
    const conditions = of<Condition>('Condition')
    const status = (c: Condition): string[] => [
      c.category?.[0]?.coding?.[0]?.code ?? '',
      c.verificationStatus?.coding?.[0]?.code ?? '',
      c.clinicalStatus?.coding?.[0]?.code ?? '',
      c.code?.text ?? '',
    ]
    expect(conditions.map(status).sort()).toEqual(
      [
        ['encounter-diagnosis', 'provisional', 'active', 'Community-acquired pneumonia'],
        ['encounter-diagnosis', 'confirmed', 'active', 'Malaria, rapid test positive'],
        ['problem-list-item', 'confirmed', 'active', 'Hypertension'],
        ['problem-list-item', 'entered-in-error', '', 'Asthma'],
      ].sort(),
    )
    expect(conditions.find((c) => c.code?.text === 'Community-acquired pneumonia')?.code?.coding).toEqual([
      { system: 'http://hl7.org/fhir/sid/icd-10', code: 'J18.9' },
    ])
  })

  it('AllergyIntolerance: substance, criticality from severity, reaction', () => {
    const a = of<AllergyIntolerance>('AllergyIntolerance').find((x) => x.code?.text === 'penicillin')!
    expect(a.criticality).toBe('high')
    expect(a.reaction).toEqual([{ manifestation: [{ text: 'hives' }], severity: 'severe' }])
  })

  it('MedicationRequest per item of the signed prescription, active, grouped, with dosage', () => {
    const reqs = of<MedicationRequest>('MedicationRequest')
    expect(reqs).toHaveLength(2)
    expect(
      reqs.every(
        (r) => r.status === 'active' && r.intent === 'order' && r.groupIdentifier?.value === visit.rxId,
      ),
    ).toBe(true)
    const amox = reqs.find((r) => r.medicationCodeableConcept?.text?.startsWith('amoxicillin'))!
    expect(amox.dosageInstruction?.[0]?.text).toBe('500 mg oral three times daily for 5 days')
    expect(amox.dispenseRequest?.expectedSupplyDuration).toEqual({
      value: 5,
      unit: 'days',
      system: UCUM,
      code: 'd',
    })
    expect(amox.requester?.reference).toBe('Practitioner/usr-clinician')
  })

  it('Provenance of the signature: both signatures, the hash, targets the requests', () => {
    const prov = of<Provenance>('Provenance').find((p) => p.activity?.text === 'prescription signed')!
    const rx = visit.chart.prescriptions[visit.rxId]!
    expect(prov.target.map((t) => t.reference).sort()).toEqual(
      of<MedicationRequest>('MedicationRequest')
        .map((r) => `MedicationRequest/${r.id}`)
        .sort(),
    )
    expect(prov.signature?.[0]?.data).toBe(Buffer.from(rx.signed!.signature, 'hex').toString('base64'))
    expect(prov.signature?.[1]?.data).toBe(
      Buffer.from(rx.signed!.device!.signature, 'hex').toString('base64'),
    )
    expect(prov.entity?.[0]?.what.identifier?.value).toBe(rx.signed!.hash)
    expect(prov.agent.map((a) => a.type?.coding?.[0]?.code)).toEqual(['author', 'verifier'])
  })

  it('MedicationDispense: completed, settlement state tagged, lot and expiry on the contained Medication, authorised by the requests', () => {
    const d = of<MedicationDispense>('MedicationDispense')[0]!
    expect(d.status).toBe('completed')
    expect(d.meta?.tag).toEqual([{ system: 'urn:clinic-mesh:settlement', code: 'settled' }])
    expect(d.contained?.[0]).toMatchObject({
      resourceType: 'Medication',
      batch: { lotNumber: 'LOT-A1', expirationDate: '2027-06-30' },
    })
    expect(d.authorizingPrescription).toHaveLength(2)
    expect(d.quantity?.value).toBe(15)
  })

  it('MedicationAdministration: every MAR entry; the correction points to a Provenance naming the corrected entry', () => {
    const mas = of<MedicationAdministration>('MedicationAdministration')
    expect(mas.map((m) => m.status).sort()).toEqual(['completed', 'completed', 'not-done'])
    const correction = mas.find((m) => m.eventHistory)!
    const prov = of<Provenance>('Provenance').find(
      (p) => `Provenance/${p.id}` === correction.eventHistory?.[0]?.reference,
    )!
    const original = mas.find((m) => m.request)!
    expect(prov.entity?.[0]).toEqual({
      role: 'revision',
      what: { reference: `MedicationAdministration/${original.id}` },
    })
    expect(mas.every((m) => /^[A-Za-z0-9\-.]{1,64}$/.test(m.id ?? ''))).toBe(true)
  })
})

describe('charts written before collection schema 3 (actors as {user, device} maps)', () => {
  /** The same chart with every packed actor (`by`, `createdBy`, `signedBy`...) as the map schema 2 wrote. */
  const asMaps = (value: unknown, key = ''): unknown => {
    if (/^(by|[a-z]+By)$/.test(key) && typeof value === 'string') {
      const [user, device] = value.split(' ')
      return { user, device }
    }
    if (Array.isArray(value)) return value.map((v) => asMaps(v))
    if (value === null || typeof value !== 'object') return value
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asMaps(v, k)]))
  }

  it('map to the same resources as the packed form (practitioners, devices, recorders, performers)', () => {
    const old = asMaps(visit.chart) as typeof visit.chart
    expect(JSON.stringify(old)).not.toEqual(JSON.stringify(visit.chart)) // the fixture records actors packed
    expect(JSON.stringify(old)).toContain('"recordedBy":{"user":')
    expect(chartResources(old, options)).toEqual(resources)
  })
})
