import type { Bundle, BundleEntry } from '@medplum/fhirtypes'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceCluster, type ActAs, type DeviceProcess } from './helpers/device-process.js'

const clerk: ActAs = { name: 'Import Clerk', role: 'clinician' }
const auditor: ActAs = { name: 'Audit Reader', role: 'reviewer' }
const N = 300

const reg = (i: number): string => `REG-${String(i).padStart(4, '0')}`
const patient = (i: number, id = reg(i)): BundleEntry => ({
  fullUrl: `urn:uuid:p${i}`,
  resource: {
    resourceType: 'Patient',
    identifier: [{ system: 'urn:test:registry', value: id }],
    name: [{ given: [`Given${i}`], family: `Family${i}` }],
    gender: i % 2 ? 'female' : 'male',
    birthDate: `19${String(50 + (i % 40)).padStart(2, '0')}-0${1 + (i % 9)}-1${i % 10}`,
  },
})

/**
 * N Patients (the first with an allergy and a condition), then: a Patient with the identifier of patient 5 (the same
 * person: not registered again), and one with a new identifier but patient 10's name, birth date and sex (a possible
 * duplicate: registered, flagged).
 */
function bundle(): Bundle {
  const entry: BundleEntry[] = Array.from({ length: N }, (_, i) => patient(i))
  entry.splice(
    1,
    0,
    {
      resource: {
        resourceType: 'AllergyIntolerance',
        patient: { reference: 'urn:uuid:p0' },
        code: { text: 'penicillin' },
        criticality: 'high',
      },
    },
    {
      resource: {
        resourceType: 'Condition',
        subject: { reference: 'urn:uuid:p0' },
        code: { text: 'Hypertension' },
        clinicalStatus: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
        },
      },
    },
  )
  entry.push(patient(5), patient(10, 'REG-OTHER'))
  return { resourceType: 'Bundle', type: 'transaction', entry }
}

interface ChartReply {
  chart: {
    patient: {
      name: { given: string; family: string }
      birthDate: string
      sex: string
      identifiers: Record<string, { system: string; value: string }>
      allergies: Record<string, { substance: string; severity: string }>
      problems: Record<string, { text: string }>
    }
  }
}

describe('FHIR bulk import on a founding device node', () => {
  let cluster: DeviceCluster
  let node: DeviceProcess

  const post = async (body: Bundle): Promise<Bundle> => {
    const res = await fetch(`http://127.0.0.1:${node.port}/fhir`, {
      method: 'POST',
      headers: {
        'content-type': 'application/fhir+json',
        authorization: `Bearer ${await node.token(clerk)}`,
      },
      body: JSON.stringify(body),
    })
    expect(res.status).toBe(200)
    return (await res.json()) as Bundle
  }
  const statuses = (b: Bundle): string[] => (b.entry ?? []).map((e) => e.response?.status ?? '')
  const idOf = async (identifier: string): Promise<string[]> =>
    (
      await node.api<{ patients: { id: string }[] }>(
        'GET',
        `/api/patients?q=${encodeURIComponent(`urn:test:registry|${identifier}`)}`,
        undefined,
        { as: clerk },
      )
    ).body.patients.map((p) => p.id)

  beforeAll(async () => {
    cluster = await DeviceCluster.start(['desk'])
    node = cluster.devices[0]!
    await node.ready()
  })

  afterAll(async () => {
    await cluster?.stop()
  })

  it('registers every patient once, flags the possible duplicate, audits each chart, is idempotent and durable', async () => {
    const first = await post(bundle())
    const s = statuses(first)
    expect(s).toHaveLength(N + 4)
    // N new patients, the allergy and the condition, the possible duplicate: created; patient 5 again: not
    expect(s.filter((x) => x === '201 Created')).toHaveLength(N + 3)
    expect(s[N + 2]).toBe('200 OK')
    const five = await idOf(reg(5))
    expect(five).toHaveLength(1)
    expect(first.entry?.[N + 2]?.response?.location).toBe(`Patient/${five[0]!.replace('_', '-')}`)
    const ten = (await idOf(reg(10)))[0]!
    expect(first.entry?.[N + 3]?.response?.outcome?.issue?.[0]).toMatchObject({
      severity: 'warning',
      code: 'duplicate',
      diagnostics: expect.stringContaining(ten) as unknown,
    })
    // the first patient's chart reads as one registered and then given an allergy and a problem
    const zero = (await idOf(reg(0)))[0]!
    const chart = (await node.api<ChartReply>('GET', `/api/patients/${zero}`, undefined, { as: clerk })).body
      .chart
    expect(chart.patient).toMatchObject({
      name: { given: 'Given0', family: 'Family0' },
      birthDate: '1950-01-10',
      sex: 'male',
      identifiers: { 'urn:test:registry|REG-0000': { system: 'urn:test:registry', value: 'REG-0000' } },
    })
    expect(Object.values(chart.patient.allergies)).toMatchObject([
      { substance: 'penicillin', severity: 'severe' },
    ])
    expect(Object.values(chart.patient.problems)).toMatchObject([{ text: 'Hypertension' }])

    // one audit entry per chart touched, in a chain whose signed head verifies
    const audit = await node.api<{ touches: { action: string }[]; chains: { ok: boolean }[] }>(
      'GET',
      `/api/audit?patient=${(await idOf(reg(150)))[0]}`,
      undefined,
      { as: auditor },
    )
    expect(audit.body.touches.map((t) => t.action)).toEqual(['change'])
    expect(audit.body.chains.every((c) => c.ok)).toBe(true)

    // the same Bundle again creates nothing
    const again = await post(bundle())
    expect(statuses(again).filter((x) => x.startsWith('201'))).toEqual([])
    expect(await idOf(reg(10))).toEqual([ten])

    // the same new Bundle posted twice at once: each patient registered once
    const more: Bundle = {
      resourceType: 'Bundle',
      type: 'batch',
      entry: Array.from({ length: 100 }, (_, i) => patient(N + i)),
    }
    const both = await Promise.all([post(more), post(more)])
    expect(both.flatMap(statuses).filter((x) => x === '201 Created')).toHaveLength(100)
    expect(await idOf(reg(N + 42))).toHaveLength(1)

    // answered means stored: killed right after, the charts are there on restart
    await node.stop('SIGKILL')
    node = await node.restart()
    cluster.devices[0] = node
    await node.ready()
    expect(await idOf(reg(N - 1))).toHaveLength(1)
    const back = (await node.api<ChartReply>('GET', `/api/patients/${zero}`, undefined, { as: clerk })).body
      .chart
    expect(back).toEqual(chart)
  })
})
