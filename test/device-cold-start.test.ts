import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceCluster, type DeviceProcess } from './helpers/device-process.js'

interface Status {
  charts?: { buckets: number; held: number }
}
interface QueueReply {
  queue: { pid: string; eid: string; name: string; reason: string; queue: string; done: string[] }[]
}
interface SearchReply {
  patients: { id: string; family: string }[]
}

const FAMILIES = ['Banda', 'Phiri', 'Mwale', 'Tembo', 'Moyo', 'Chirwa', 'Nkhoma', 'Zulu']

describe('a device node restarting (issue 17: cold start)', () => {
  let cluster: DeviceCluster
  let node: DeviceProcess

  beforeAll(async () => {
    cluster = await DeviceCluster.start(['reception'])
    node = cluster.devices[0]!
    await node.ready()
  })

  afterAll(async () => {
    await node?.stop()
    await cluster?.stop()
  })

  it('answers search and the day’s queue from the index shards, without opening the chart buckets', async () => {
    const ids: string[] = []
    for (let i = 0; i < 24; i++) {
      const r = await node.api<{ id: string; encounterId?: string }>('POST', '/api/patients', {
        given: `Chikondi${i}`,
        family: FAMILIES[i % FAMILIES.length],
        birthDate: '1990-01-01',
        sex: 'female',
        ...(i < 20 ? { reason: `visit ${i}` } : {}), // 20 visits open today, 4 patients without one
      })
      expect(r.status).toBe(201)
      ids.push(r.body.id)
    }
    // one visit closed, one moved on in the queue: both reach the queue through the shards too
    const closed = await node.api<QueueReply>('GET', '/api/queue')
    const first = closed.body.queue.find((e) => e.pid === ids[0])!
    const second = closed.body.queue.find((e) => e.pid === ids[1])!
    expect(
      (
        await node.api('PATCH', `/api/encounters/${first.eid}`, {
          patientId: ids[0],
          status: 'closed',
        })
      ).status,
    ).toBe(200)
    expect(
      (
        await node.api('PATCH', `/api/encounters/${second.eid}`, {
          patientId: ids[1],
          queue: 'triage',
        })
      ).status,
    ).toBe(200)
    const before = await node.api<Status>('GET', '/api/status')
    expect(before.body.charts!.held).toBeGreaterThan(10) // the writes opened the buckets of 24 patients

    expect(await node.stop()).toBe(0)
    node = await node.restart()
    await node.ready()

    const search = await node.api<SearchReply>('GET', '/api/patients?q=chikondi&limit=50')
    expect(search.status).toBe(200)
    expect(search.body.patients.map((p) => p.id).sort()).toEqual([...ids].sort())
    const queue = await node.api<QueueReply>('GET', '/api/queue')
    expect(queue.status).toBe(200)
    expect(queue.body.queue.map((e) => e.pid).sort()).toEqual(ids.slice(1, 20).sort())
    const moved = queue.body.queue.find((e) => e.pid === ids[1])!
    expect(moved).toMatchObject({ queue: 'triage', reason: 'visit 1', name: `Chikondi1 ${FAMILIES[1]}` })

    // the answers above came from the index shards: no chart bucket is in memory
    const after = await node.api<Status>('GET', '/api/status')
    expect(after.body.charts).toEqual({ buckets: before.body.charts!.buckets, held: 0 })

    // a chart opens its one bucket on demand
    const chart = await node.api<{ chart: { patient: { name: { family: string } } } }>(
      'GET',
      `/api/patients/${ids[3]}`,
    )
    expect(chart.body.chart.patient.name.family).toBe(FAMILIES[3])
    expect((await node.api<Status>('GET', '/api/status')).body.charts!.held).toBe(1)
  })
})
