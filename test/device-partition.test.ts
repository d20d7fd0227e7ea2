import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceCluster, pollDevice, type DeviceProcess } from './helpers/device-process.js'

interface Chart {
  chart: {
    encounters: Record<
      string,
      {
        clinician: { notes: string }
        triage: { vitals: Record<string, { values: Record<string, number> }> }
        registration: { queue: string }
      }
    >
  }
  review: { path: string[]; winner: unknown; others: unknown[] }[]
}

const peers = async (d: DeviceProcess): Promise<number> =>
  (await d.api<{ peers: unknown[] }>('GET', '/api/status')).body.peers.length

describe('a partition between two device nodes, edits on both sides, heal', () => {
  let cluster: DeviceCluster
  let a: DeviceProcess, b: DeviceProcess

  beforeAll(async () => {
    cluster = await DeviceCluster.start(['nurse', 'clinician'])
    ;[a, b] = cluster.devices as [DeviceProcess, DeviceProcess]
    await Promise.all(cluster.devices.map((d) => d.ready()))
    await Promise.all(
      [a, b].map((d) => pollDevice(async () => (await peers(d)) === 1, `${d.init.name} meshed`)),
    )
  })

  afterAll(async () => {
    await cluster?.stop()
  })

  it('merges notes and vitals, flags the field both sides wrote, and converges', async () => {
    const reg = await a.api<{ id: string; encounterId: string }>('POST', '/api/patients', {
      given: 'Tiwonge',
      family: 'Mwale',
      birthDate: '1975-01-20',
      sex: 'male',
      reason: 'headache',
    })
    expect(reg.status).toBe(201)
    const { id, encounterId: enc } = reg.body
    await pollDevice(
      async () => (await b.api('GET', `/api/patients/${id}`)).status === 200,
      'b has the chart',
    )

    const off = await a.api<{ network: { mesh: boolean } }>('POST', '/api/network', { mesh: false })
    expect(off.body.network.mesh).toBe(false)
    await Promise.all(
      [a, b].map((d) => pollDevice(async () => (await peers(d)) === 0, `${d.init.name} partitioned`)),
    )

    const na = await a.api(
      'PATCH',
      `/api/encounters/${enc}`,
      { patientId: id, notes: 'Headache 2 days, no fever.', queue: 'consultation' },
      { headers: { 'x-user': 'usr_nurse', 'x-role': 'nurse' } },
    )
    expect(na.status).toBe(200)
    const nb = await b.api(
      'PATCH',
      `/api/encounters/${enc}`,
      { patientId: id, vitals: { temperatureC: 36.9, pulseBpm: 80 }, queue: 'pharmacy' },
      { headers: { 'x-user': 'usr_co', 'x-role': 'clinician' } },
    )
    expect(nb.status).toBe(200)
    // still apart: b has not seen a's notes
    expect(
      (await b.api<Chart>('GET', `/api/patients/${id}`)).body.chart.encounters[enc]?.clinician.notes,
    ).toBe('')

    const healedAt = performance.now()
    await a.api('POST', '/api/network', { mesh: true })
    const merged = await Promise.all(
      [a, b].map((d) =>
        pollDevice(
          async () => {
            const r = (await d.api<Chart>('GET', `/api/patients/${id}`)).body
            const e = r.chart.encounters[enc]
            const ok =
              e?.clinician.notes === 'Headache 2 days, no fever.' &&
              Object.keys(e.triage.vitals).length === 1 &&
              r.review.length > 0
            return ok ? r : undefined
          },
          `${d.init.name} converged`,
          15_000,
        ),
      ),
    )
    console.warn(`converged ${(performance.now() - healedAt).toFixed(0)} ms after the heal`)
    const [ra, rb] = merged as [Chart, Chart]
    expect(ra.chart).toEqual(rb.chart)
    const marker = ra.review.find((m) => m.path.at(-1) === 'queue')
    expect(marker).toBeDefined()
    expect([marker?.winner, ...(marker?.others ?? [])].sort()).toEqual(['consultation', 'pharmacy'])
    expect(rb.review).toEqual(ra.review)
    expect(Object.values(ra.chart.encounters[enc]!.triage.vitals)[0]?.values).toEqual({
      temperatureC: 36.9,
      pulseBpm: 80,
    })
  })
})
