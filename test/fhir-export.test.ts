import type {
  Bundle,
  Composition,
  MedicationDispense,
  Observation,
  OperationOutcome,
  Resource,
} from '@medplum/fhirtypes'
import { recordAdministration, recordAllergy, type Prescription } from '@clinic-mesh/records'
import { fhirErrors } from '@clinic-mesh/fhir/validator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  DeviceCluster,
  pollDevice,
  testPassword,
  type ActAs,
  type DeviceProcess,
} from './helpers/device-process.js'
import type { RelayProcess } from './helpers/relay-process.js'
import { RxClinic } from './helpers/rx-clinic.js'
import { SyncClient } from './helpers/sync-client.js'

const nurse = { name: 'Grace Phiri', role: 'nurse' }
const clinician = { name: 'Dr Mwale', role: 'clinician' }
const pharmacist = { name: 'Pharm Banda', role: 'pharmacist' }
const reader = { name: 'Fhir Reader', role: 'reviewer' }
const admin = { name: 'admin', role: 'admin' }
const supervisor = { name: 'Sup Visor', role: 'supervisor' }
const actor = (user: string) => ({ user: user as never, device: 'dev_tablet' as never })

interface ChartReply {
  chart: {
    prescriptions: Record<string, Prescription>
    mar: Record<string, unknown>
    patient: { allergies: Record<string, unknown> }
  }
}

describe('FHIR R4 from a device node after a full visit; import into a clinic', () => {
  let env: RxClinic
  let relay: RelayProcess
  let node: DeviceProcess
  let pid = ''
  let rxId = ''
  const fhir = async <T>(
    method: string,
    path: string,
    as: ActAs | null,
    body?: unknown,
  ): Promise<{ status: number; type: string | null; body: T }> => {
    const headers: Record<string, string> = { 'content-type': 'application/fhir+json' }
    if (as) headers.authorization = `Bearer ${await node.token(as)}`
    const res = await fetch(`http://127.0.0.1:${node.port}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as T }
  }
  const chartOnNode = async (): Promise<ChartReply['chart']> =>
    (await node.api<ChartReply>('GET', `/api/patients/${pid}`, undefined, { as: clinician })).body.chart

  beforeAll(async () => {
    // online: a clinician signs without a settled knowledge base; registration at the front desk
    env = await RxClinic.start({
      device: 'clinic',
      stock: [],
      patient: {
        given: 'Chisomo',
        family: 'Tembo',
        birthDate: '1990-07-04',
        sex: 'male',
        identifiers: [{ system: 'national-id', value: 'MW-FHIR-1' }],
        reason: 'fever for three days',
      },
    })
    ;({ relay, node } = env)
    pid = env.patient.id
    const eid = env.patient.encounterId

    // triage, consultation (JSON API)
    const vitals = {
      temperatureC: 38.6,
      pulseBpm: 110,
      respRate: 24,
      systolic: 118,
      diastolic: 76,
      spo2: 95,
      weightKg: 70.2,
      heightCm: 175,
    }
    expect(
      (await node.api('PATCH', `/api/encounters/${eid}`, { patientId: pid, vitals }, { as: nurse })).status,
    ).toBe(200)
    expect(
      (
        await node.api(
          'PATCH',
          `/api/encounters/${eid}`,
          { patientId: pid, diagnosis: { text: 'Malaria', code: 'B54', certainty: 'confirmed' } },
          { as: clinician },
        )
      ).status,
    ).toBe(200)

    // what the tablets write over /sync (gated by the node): an allergy (nurse), a prescription (clinician)
    const nurseTab = await SyncClient.open(node, nurse, 'web-fhir-nurse')
    try {
      await nurseTab.change(pid, (c) =>
        recordAllergy(
          c,
          { substance: 'penicillin', severity: 'severe', reaction: 'rash' },
          actor('usr_grace-phiri'),
        ),
      )
      await pollDevice(
        async () => Object.keys((await chartOnNode()).patient.allergies).length === 1,
        'allergy on the node',
      )
      const signed = await env.signRx([
        {
          itemId: 'itm_artemether-lumefantrine-tab',
          quantity: 24,
          drug: 'Artemether/lumefantrine 20/120 mg tab',
          dose: '4 tablets',
          route: 'oral',
          frequency: 'twice daily',
          duration: '3 days',
        },
      ])
      rxId = signed.rxId

      // the pharmacy: goods received, the dispense against the signed prescription (ledger)
      expect(
        (
          await node.api(
            'POST',
            '/api/stock/receipts',
            {
              id: 'grn-fhir-1',
              item: 'itm_al',
              batch: 'AL-2207',
              expiry: '2027-05-31',
              quantity: 60,
              unitCost: 40,
              supplier: 'CMST',
              grn: 'GRN-9',
            },
            { as: pharmacist },
          )
        ).status,
      ).toBe(201)
      const dispense = {
        id: 'disp-fhir-1',
        item: 'itm_al',
        batch: 'AL-2207',
        quantity: 24,
        patient: pid,
        prescription: rxId,
        prescriptionHash: signed.hash,
        priceSeen: 0,
        stockSeen: 60,
      }
      expect((await node.api('POST', '/api/stock/dispenses', dispense, { as: pharmacist })).status).toBe(201)

      // the first dose on the ward (MAR, nurse's tablet)
      const itemId = Object.keys((await chartOnNode()).prescriptions[rxId]!.items)[0]!
      await pollDevice(
        async () => (await nurseTab.chart(pid))?.prescriptions[rxId]?.signed !== undefined,
        'signed prescription on the nurse tablet',
      )
      await nurseTab.change(pid, (c) =>
        recordAdministration(
          c,
          {
            drug: 'Artemether/lumefantrine 20/120 mg tab',
            dose: '4 tablets',
            route: 'oral',
            status: 'given',
            administeredAt: new Date().toISOString(),
            prescriptionId: rxId,
            itemId,
          },
          actor('usr_grace-phiri'),
        ),
      )
      await pollDevice(
        async () => Object.keys((await chartOnNode()).mar).length === 1,
        'MAR entry on the node',
      )
    } finally {
      await nurseTab.close()
    }
  }, 240_000)

  afterAll(async () => {
    await env?.stop()
  })

  const types = (b: Bundle): string[] => (b.entry ?? []).map((e) => e.resource?.resourceType ?? '')

  it('$everything: a searchset Bundle, every resource valid R4, the visit complete with LOINC/UCUM vitals and the lot', async () => {
    const r = await fhir<Bundle>('GET', `/fhir/Patient/${pid.replace('_', '-')}/$everything`, reader)
    expect(r.status).toBe(200)
    expect(r.type).toMatch(/^application\/fhir\+json/)
    const b = r.body
    expect(b.type).toBe('searchset')
    expect(fhirErrors(b)).toEqual([])
    for (const e of b.entry ?? [])
      expect([e.resource?.resourceType, fhirErrors(e.resource as Resource)]).toEqual([
        e.resource?.resourceType,
        [],
      ])
    for (const t of [
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
    ])
      expect(types(b)).toContain(t)
    const obs = (b.entry ?? [])
      .map((e) => e.resource)
      .filter((x): x is Observation => x?.resourceType === 'Observation')
    const codes = obs
      .map((o) => [
        o.code.coding?.[0]?.code,
        o.valueQuantity?.code ??
          o.component?.map((c) => `${c.code.coding?.[0]?.code}:${c.valueQuantity?.code}`).join(' '),
      ])
      .sort()
    expect(codes).toEqual(
      [
        ['8867-4', '/min'],
        ['9279-1', '/min'],
        ['8310-5', 'Cel'],
        ['85354-9', '8480-6:mm[Hg] 8462-4:mm[Hg]'],
        ['2708-6', '%'],
        ['29463-7', 'kg'],
        ['8302-2', 'cm'],
      ].sort(),
    )
    const md = (b.entry ?? [])
      .map((e) => e.resource)
      .find((x): x is MedicationDispense => x?.resourceType === 'MedicationDispense')!
    expect(md.contained?.[0]).toMatchObject({ batch: { lotNumber: 'AL-2207', expirationDate: '2027-05-31' } })
    expect(md.authorizingPrescription?.[0]?.reference).toMatch(/^MedicationRequest\//)
    expect(md.meta?.tag?.[0]?.system).toBe('urn:clinic-mesh:settlement')
    const prov = (b.entry ?? []).map((e) => e.resource).find((x) => x?.resourceType === 'Provenance')
    expect(prov).toMatchObject({
      signature: [
        { who: { reference: 'Practitioner/usr-dr-mwale' } },
        { who: { reference: expect.stringMatching(/^Device\//) } },
      ],
    })

    // audited as a read of the chart, by the user who asked
    const audit = await node.api<{ touches: { user: string; action: string }[] }>(
      'GET',
      `/api/audit?patient=${pid}`,
      undefined,
      { as: supervisor },
    )
    expect(audit.body.touches).toContainEqual(
      expect.objectContaining({ user: 'usr_fhir-reader', action: 'read' }),
    )
  })

  it('$summary: an IPS document Bundle (Composition 60591-5 with medication, allergy and problem sections), valid R4', async () => {
    const r = await fhir<Bundle>('GET', `/fhir/Patient/${pid}/$summary`, reader)
    expect(r.status).toBe(200)
    expect(r.body.type).toBe('document')
    expect(fhirErrors(r.body)).toEqual([])
    for (const e of r.body.entry ?? []) expect(fhirErrors(e.resource as Resource)).toEqual([])
    const comp = r.body.entry?.[0]?.resource as Composition
    expect(comp.type.coding?.[0]).toMatchObject({ system: 'http://loinc.org', code: '60591-5' })
    expect(comp.section?.map((s) => [s.code?.coding?.[0]?.code, s.entry?.length])).toEqual([
      ['10160-0', 1],
      ['48765-2', 1],
      ['11450-4', 1],
    ])
  })

  it('GET /fhir/metadata: a valid CapabilityStatement naming $everything and $summary, without a session', async () => {
    const r = await fhir<
      Resource & {
        fhirVersion: string
        rest: { resource: { type: string; operation?: { name: string }[] }[] }[]
      }
    >('GET', '/fhir/metadata', null)
    expect(r.status).toBe(200)
    expect(fhirErrors(r.body)).toEqual([])
    expect(r.body.fhirVersion).toBe('4.0.1')
    expect(r.body.rest[0]?.resource.find((x) => x.type === 'Patient')?.operation?.map((o) => o.name)).toEqual(
      ['everything', 'summary'],
    )
  })

  it('a role that may not read charts gets 403, no session 401, an unknown patient 404 — as OperationOutcome', async () => {
    const forbidden = await fhir<OperationOutcome>('GET', `/fhir/Patient/${pid}/$everything`, admin)
    expect([
      forbidden.status,
      forbidden.body.resourceType,
      forbidden.body.issue[0]?.details?.coding?.[0]?.code,
    ]).toEqual([403, 'OperationOutcome', 'ForbiddenError'])
    const summary = await fhir<OperationOutcome>('GET', `/fhir/Patient/${pid}/$summary`, admin)
    expect(summary.status).toBe(403)
    expect((await fhir<OperationOutcome>('GET', `/fhir/Patient/${pid}/$everything`, null)).status).toBe(401)
    const unknown = await fhir<OperationOutcome>(
      'GET',
      `/fhir/Patient/pt-${'0'.repeat(32)}/$everything`,
      reader,
    )
    expect([unknown.status, unknown.body.issue[0]?.details?.coding?.[0]?.code]).toEqual([
      404,
      'UnknownPatientError',
    ])
    // a foreign page may not post an import (same Origin check as /api)
    const res = await fetch(`http://127.0.0.1:${node.port}/fhir`, {
      method: 'POST',
      headers: {
        origin: 'http://evil.example',
        'content-type': 'application/fhir+json',
        authorization: `Bearer ${await node.token(clinician)}`,
      },
      body: '{}',
    })
    expect(res.status).toBe(403)
  })

  it('the relay exports the clinic FHIR Bulk Data style: a manifest, then NDJSON per resource type, streamed, each resource valid R4', async () => {
    const clinic = (await node.api<{ clinic: { id: string } }>('GET', '/api/status')).body.clinic.id
    const get = (path: string, token: string | null = relay.operatorToken): Promise<Response> =>
      fetch(`http://127.0.0.1:${relay.port}${path}`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      })
    expect((await get(`/fhir/$export?clinic=${clinic}`, null)).status).toBe(401)
    const manifest = (await (await get(`/fhir/$export?clinic=${clinic}`)).json()) as {
      requiresAccessToken: boolean
      output: { type: string; url: string }[]
    }
    expect(manifest.requiresAccessToken).toBe(true)
    expect(manifest.output.map((o) => o.type)).toEqual(
      expect.arrayContaining(['Patient', 'Observation', 'MedicationDispense', 'MedicationAdministration']),
    )
    const ndjson = async (type: string): Promise<Resource[]> => {
      const out = manifest.output.find((o) => o.type === type)!
      const res = await get(new URL(out.url).pathname + new URL(out.url).search)
      expect(res.headers.get('content-type')).toBe('application/fhir+ndjson')
      return (await res.text())
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Resource)
    }
    // the chart and the pharmacy's log reach the relay over the device's relay link
    await pollDevice(
      async () =>
        (await ndjson('MedicationAdministration')).length === 1 &&
        (await ndjson('MedicationDispense')).length === 1,
      'the visit at the relay',
      30_000,
    )
    let total = 0
    for (const { type } of manifest.output) {
      const resources = await ndjson(type)
      total += resources.length
      for (const r of resources) expect([r.resourceType, fhirErrors(r)]).toEqual([type, []])
    }
    const patients = await ndjson('Patient')
    expect(patients.map((p) => p.id)).toContain(pid.replace('_', '-'))
    expect(
      (await ndjson('Observation')).filter(
        (o) => (o as Observation).subject?.reference === `Patient/${pid.replace('_', '-')}`,
      ),
    ).toHaveLength(7)
    expect(total).toBeGreaterThan(15)

    // a clinic's signed-in supervisor exports their clinic; a reviewer may not
    const login = async (as: ActAs): Promise<string | undefined> => {
      const r = await fetch(`http://127.0.0.1:${relay.port}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ clinic, user: as.name, password: testPassword(as.name) }),
      })
      return r.status === 200 ? ((await r.json()) as { token: string }).token : undefined
    }
    const supToken = await pollDevice(() => login(supervisor), 'the supervisor signs in at the relay', 30_000)
    expect((await get(`/fhir/$export?clinic=${clinic}`, supToken)).status).toBe(200)
    const readerToken = await pollDevice(() => login(reader), 'the reviewer signs in at the relay', 30_000)
    expect((await get(`/fhir/$export/Patient.ndjson?clinic=${clinic}`, readerToken)).status).toBe(403)
  })

  it('import: registers new patients with allergies and conditions, flags duplicates, reports each rejected entry, and is idempotent', async () => {
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:a',
          resource: {
            resourceType: 'Patient',
            identifier: [{ system: 'https://registry.example.mw/upi', value: 'UPI-1001' }],
            name: [{ given: ['Alinafe'], family: 'Kachale' }],
            gender: 'female',
            birthDate: '2001-02-03',
          },
        },
        {
          resource: {
            resourceType: 'AllergyIntolerance',
            patient: { reference: 'urn:uuid:a' },
            code: { text: 'sulfonamides' },
            criticality: 'high',
          },
        },
        {
          resource: {
            resourceType: 'Condition',
            subject: { reference: 'urn:uuid:a' },
            code: {
              coding: [
                {
                  system: 'http://hl7.org/fhir/sid/icd-10',
                  code: 'E11',
                  display: 'Type 2 diabetes mellitus',
                },
              ],
            },
            clinicalStatus: {
              coding: [
                { system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' },
              ],
            },
          },
        },
        {
          fullUrl: 'urn:uuid:b',
          resource: { resourceType: 'Patient', name: [{ family: 'Nobirth' }], gender: 'male' },
        },
        {
          resource: {
            resourceType: 'AllergyIntolerance',
            patient: { reference: 'urn:uuid:b' },
            code: { text: 'latex' },
          },
        },
        { resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' } } },
        {
          resource: {
            resourceType: 'Patient',
            name: [{ family: 'Noid' }],
            gender: 'female',
            birthDate: '1970-01-01',
          },
        },
        {
          fullUrl: 'urn:uuid:c',
          resource: {
            resourceType: 'Patient',
            identifier: [{ system: 'https://registry.example.mw/upi', value: 'UPI-1003' }],
            name: [{ given: ['Chisomo'], family: 'Tembo' }],
            gender: 'male',
            birthDate: '1990-07-04',
          },
        },
      ],
    }
    const first = await fhir<Bundle>('POST', '/fhir', clinician, bundle)
    expect(first.status).toBe(200)
    expect(first.body.type).toBe('batch-response')
    expect(fhirErrors(first.body)).toEqual([])
    const status = (b: Bundle): string[] => (b.entry ?? []).map((e) => e.response?.status ?? '')
    expect(status(first.body)).toEqual([
      '201 Created',
      '201 Created',
      '201 Created',
      '422 Unprocessable Entity',
      '422 Unprocessable Entity',
      '422 Unprocessable Entity',
      '422 Unprocessable Entity',
      '201 Created',
    ])
    const reasons = (first.body.entry ?? []).map((e) => e.response?.outcome?.issue?.[0]?.diagnostics ?? '')
    expect(reasons[3]).toMatch(/birthDate/)
    expect(reasons[4]).toMatch(/entry 3/)
    expect(reasons[5]).toMatch(/Observation is not imported/)
    expect(reasons[6]).toMatch(/needs an identifier/)
    expect(first.body.entry?.[7]?.response?.outcome?.issue?.[0]).toMatchObject({
      severity: 'warning',
      code: 'duplicate',
      diagnostics: expect.stringContaining(pid),
    })

    const again = await fhir<Bundle>('POST', '/fhir', clinician, bundle)
    expect(status(again.body)).toEqual([
      '200 OK',
      '200 OK',
      '200 OK',
      '422 Unprocessable Entity',
      '422 Unprocessable Entity',
      '422 Unprocessable Entity',
      '422 Unprocessable Entity',
      '200 OK',
    ])
    const found = await node.api<{ patients: { id: string }[] }>(
      'GET',
      `/api/patients?q=${encodeURIComponent('https://registry.example.mw/upi|UPI-1001')}`,
      undefined,
      { as: clinician },
    )
    expect(found.body.patients).toHaveLength(1)
    const imported = await fhir<Bundle>(
      'GET',
      `${first.body.entry?.[0]?.response?.location?.replace(/^/, '/fhir/')}/$everything`,
      reader,
    )
    expect(types(imported.body).filter((t) => t === 'AllergyIntolerance' || t === 'Condition')).toEqual([
      'Condition',
      'AllergyIntolerance',
    ])
    expect(fhirErrors(imported.body)).toEqual([])

    // an export posted back is the same patient: nothing registered twice, nothing added
    const everything = await fhir<Bundle>('GET', `/fhir/Patient/${pid}/$everything`, reader)
    const back = await fhir<Bundle>('POST', '/fhir', clinician, {
      ...everything.body,
      type: 'collection',
      total: undefined,
      entry: everything.body.entry?.map(({ fullUrl, resource }) => ({ fullUrl, resource })),
    })
    expect(back.body.entry?.[0]?.response).toMatchObject({
      status: '200 OK',
      location: `Patient/${pid.replace('_', '-')}`,
    })
    expect(status(back.body).filter((s) => s.startsWith('201'))).toEqual([])

    // a role that may not register: 403
    const refused = await fhir<OperationOutcome>('POST', '/fhir', pharmacist, bundle)
    expect(refused.status).toBe(403)
  })

  it('export → import into another clinic → export gives the same Patient, allergies and conditions (the registration part of a chart)', async () => {
    const exported = (await fhir<Bundle>('GET', `/fhir/Patient/${pid}/$everything`, reader)).body
    const other = await DeviceCluster.start(['other'])
    try {
      const o = other.devices[0]!
      await o.ready(60_000)
      const post = await fetch(`http://127.0.0.1:${o.port}/fhir`, {
        method: 'POST',
        headers: {
          'content-type': 'application/fhir+json',
          authorization: `Bearer ${await o.token(clinician)}`,
        },
        body: JSON.stringify({
          ...exported,
          type: 'collection',
          total: undefined,
          entry: exported.entry?.map(({ fullUrl, resource }) => ({ fullUrl, resource })),
        }),
      })
      const reply = (await post.json()) as Bundle
      expect(reply.entry?.[0]?.response).toMatchObject({
        status: '201 Created',
        location: `Patient/${pid.replace('_', '-')}`,
      })
      const token = await o.token(reader)
      const again = (await (
        await fetch(`http://127.0.0.1:${o.port}/fhir/Patient/${pid}/$everything`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).json()) as Bundle
      expect(fhirErrors(again)).toEqual([])
      const pick = (b: Bundle, type: string): Record<string, unknown>[] =>
        (b.entry ?? [])
          .map((e) => e.resource as unknown as Record<string, unknown>)
          .filter((r) => r.resourceType === type)
      const patient = (r: Record<string, unknown>): unknown => ({
        id: r.id,
        identifier: r.identifier,
        name: r.name,
        gender: r.gender,
        birthDate: r.birthDate,
      })
      expect(pick(again, 'Patient').map(patient)).toEqual(pick(exported, 'Patient').map(patient))
      const allergy = (r: Record<string, unknown>): unknown => ({
        code: r.code,
        criticality: r.criticality,
        reaction: r.reaction,
        clinicalStatus: r.clinicalStatus,
      })
      expect(pick(again, 'AllergyIntolerance').map(allergy)).toEqual(
        pick(exported, 'AllergyIntolerance').map(allergy),
      )
      // the visit's diagnosis comes back on the problem list (an import has no encounter to hang it on): same code, still active
      const condition = (r: Record<string, unknown>): unknown => ({
        code: r.code,
        clinicalStatus: r.clinicalStatus,
      })
      expect(pick(again, 'Condition').map(condition)).toEqual(pick(exported, 'Condition').map(condition))
    } finally {
      await other.stop()
    }
  }, 120_000)
})
