import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceCluster, DeviceProcess, pollDevice } from './helpers/device-process.js'

interface Status {
  charts?: { buckets: number; held: number; pull?: { done: number; total: number } }
}
interface QueueReply {
  queue: { pid: string }[]
}

/** The event of a device's operational log (stderr, one JSON line each), undefined until it was written. */
const event = (d: DeviceProcess, name: string): Record<string, unknown> | undefined => {
  const line = d.stderr.find((l) => l.includes(`"event":"${name}"`))
  return line === undefined ? undefined : (JSON.parse(line) as Record<string, unknown>)
}

describe('a clinic sized at creation (issue 17 #4: today first)', () => {
  let cluster: DeviceCluster
  let founder: DeviceProcess
  let tablet: DeviceProcess | undefined
  const open: string[] = []

  beforeAll(async () => {
    cluster = await DeviceCluster.start([])
    founder = await DeviceProcess.start({
      dataDir: join(cluster.root, 'founder'),
      name: 'founder',
      clinicFile: join(cluster.root, 'clinic.json'),
      initClinic: 'Sized Clinic',
      args: ['--expected-charts', '1000'],
    })
    cluster.devices.push(founder)
    await founder.ready()
  }, 60_000)

  afterAll(async () => {
    await cluster?.stop()
  })

  it('a founder started with --expected-charts 1000 makes 128 chart buckets (the default is 64)', async () => {
    const s = await founder.api<Status>('GET', '/api/status')
    expect(s.body.charts?.buckets).toBe(128)
  })

  it('a tablet joining it has the buckets of the open visits before the rest of the clinic', async () => {
    for (let i = 0; i < 30; i++) {
      const r = await founder.api<{ id: string }>('POST', '/api/patients', {
        given: `Chisomo${i}`,
        family: 'Banda',
        birthDate: '1990-01-01',
        sex: 'female',
        ...(i % 10 === 0 ? { reason: `visit ${i}` } : {}), // 3 visits open today
      })
      expect(r.status).toBe(201)
      if (i % 10 === 0) open.push(r.body.id)
    }
    tablet = await DeviceProcess.start({
      dataDir: join(cluster.root, 'tablet'),
      name: 'tablet',
      clinicFile: join(cluster.root, 'clinic.json'),
    })
    cluster.devices.push(tablet)
    await tablet.ready()
    const t = tablet
    const all = await pollDevice(
      () => Promise.resolve(event(t, 'charts-loaded')),
      'the tablet holds every chart bucket',
      60_000,
    )
    expect(all.buckets).toBe(128)
    const today = event(t, 'charts-today-loaded')
    expect(today, 'today’s buckets were reported local').toBeDefined()
    // named by the day's today document, read before the index shards (issue 17 #4), not by the shards' open visits
    expect(today!.from).toBe('today-doc')
    // the open visits' buckets (at most 3) were local while most of the clinic was still to come
    expect(today!.buckets).toBeGreaterThanOrEqual(1)
    expect(today!.buckets).toBeLessThanOrEqual(3)
    expect(today!.done).toBe(today!.buckets) // today's buckets, and no other, before the rest
    expect(t.stderr.findIndex((l) => l.includes('"event":"charts-today-loaded"'))).toBeLessThan(
      t.stderr.findIndex((l) => l.includes('"event":"charts-loaded"')),
    )
    const queue = await t.api<QueueReply>('GET', '/api/queue')
    expect(queue.body.queue.map((e) => e.pid).sort()).toEqual([...open].sort())
  }, 90_000)

  it('--expected-charts without --init-clinic is refused', async () => {
    await expect(
      DeviceProcess.start({
        dataDir: join(cluster.root, 'misused'),
        name: 'misused',
        clinicFile: join(cluster.root, 'clinic.json'),
        args: ['--expected-charts', '1000'],
      }),
    ).rejects.toThrow(/exited with 2/)
  })
})
