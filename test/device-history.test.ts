import { ImmutableString } from '@automerge/automerge'
import type { AutomergeUrl } from '@automerge/automerge-repo'
import { importChart, setEncounterStatus, type Actor, type ChartCollection } from '@clinic-mesh/records'
import type { PatientId } from '@clinic-mesh/contracts'
import {
  ARCHIVE_SHARDS,
  archiveDocumentId,
  rootLayout,
  shardOf,
  type ClinicRootDoc,
} from '@clinic-mesh/store'
import { stockClient, type StockClient } from '@clinic-mesh/testing/stock-sync'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceCluster, DeviceProcess, pollDevice } from './helpers/device-process.js'
import { SyncClient } from './helpers/sync-client.js'
import { refusalOn } from './helpers/refusal.js'

/**
 * Issue 17 #3, history window, on real device nodes: a device holding every year archives closed visits of past
 * years; a tablet started with `--history-years 1` holds no archive, still finds the patient, and opens an archived
 * visit by fetching it from its peer. A browser session can neither write an archive nor delete a visit.
 */
const clinician = { name: 'Dr Banda', role: 'clinician' }
const lastYear = new Date().getUTCFullYear() - 1
const old = (month: string): string => `${lastYear - 2}-${month}-10T09:00:00.000Z`
interface ChartReply {
  chart: { encounters: Record<string, unknown>; archived?: Record<string, { year: number }> }
}

describe('history window on device nodes', () => {
  let cluster: DeviceCluster
  let full: DeviceProcess, tablet: DeviceProcess
  const pid = 'pt_history_1'
  const oldVisit = 'enc_old_1'
  const newVisit = 'enc_new_1'
  const clients: StockClient[] = []

  beforeAll(async () => {
    const env = { CLINIC_MESH_LOGIN_DELAY_MS: '0', CLINIC_MESH_ARCHIVE_EVERY_MS: '1000' }
    cluster = await DeviceCluster.start(['full'], { env })
    full = cluster.devices[0]!
    await full.ready()
    // a chart with a visit closed two years before last year and one open today, written as a clinician's browser
    const web = await SyncClient.open(full, clinician, 'web-history-writer')
    const actor = (at: string): Actor =>
      ({ user: 'usr_dr-banda', device: 'web-history-writer', at }) as unknown as Actor
    await web.store.change(pid, (d: ChartCollection) => {
      importChart(
        d,
        {
          id: pid as PatientId,
          given: 'Thandiwe',
          family: 'Archivist',
          birthDate: '1980-02-02',
          sex: 'female',
          encounters: [
            { id: oldVisit as never, reason: 'old cough', arrivedAt: old('03') },
            { id: newVisit as never, reason: 'today' },
          ],
        },
        actor(old('03')),
      )
      setEncounterStatus(d.charts[pid]!, oldVisit, 'closed', actor(old('04')))
    })
    await pollDevice(
      async () =>
        (await full.api<ChartReply>('GET', `/api/patients/${pid}`)).body.chart?.archived?.[oldVisit] !==
        undefined,
      'the full device archives the old visit',
    )
    await web.repo.shutdown()
    tablet = await DeviceProcess.start({
      dataDir: join(cluster.root, 'tablet'),
      name: 'tablet',
      clinicFile: join(cluster.root, 'clinic.json'),
      args: ['--history-years', '1'],
      env,
    })
    cluster.devices.push(tablet)
    await tablet.ready()
  })

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()))
    await cluster?.stop()
  })

  it('the full device keeps a stub; the visit of this year stays on the chart', async () => {
    const { chart } = (await full.api<ChartReply>('GET', `/api/patients/${pid}`)).body
    expect(Object.keys(chart.encounters)).toEqual([newVisit])
    expect(chart.archived?.[oldVisit]?.year).toBe(lastYear - 2)
    const r = await full.api<{ state: string; encounter: { status: string } }>(
      'GET',
      `/api/patients/${pid}/visits/${oldVisit}`,
    )
    expect(r.status).toBe(200)
    expect(r.body.state).toBe('here')
    expect(r.body.encounter.status).toBe('closed')
  })

  it('a 1-year tablet holds no archive, finds the patient, and fetches the archived visit from its peer', async () => {
    await pollDevice(
      () => Promise.resolve(tablet.stderr.some((l) => l.includes('"event":"archives-held"'))),
      'the tablet holds its window',
    )
    expect(tablet.stderr.find((l) => l.includes('"event":"archives-held"'))).toContain('"pulled":0')
    const found = await pollDevice(async () => {
      const s = await tablet.api<{ patients: { id: string }[] }>('GET', '/api/patients?q=archivist')
      return s.body.patients?.length ? s.body.patients : undefined
    }, 'the patient is searchable on the tablet')
    expect(found.map((p) => p.id)).toEqual([pid])
    // the first answer may be "fetching" (202, with where the visit is); the visit itself follows
    const first = await tablet.api<{ state: string; where?: { peers: string[] } }>(
      'GET',
      `/api/patients/${pid}/visits/${oldVisit}`,
    )
    expect([200, 202]).toContain(first.status)
    if (first.status === 202) {
      expect(first.body.state).toBe('fetching')
      expect(first.body.where?.peers.length).toBeGreaterThan(0) // the full device holds every year
    } else expect(first.body.state).toBe('fetched')
    const got = await pollDevice(async () => {
      const r = await tablet.api<{ state: string; encounter?: { registration: { reason: string } } }>(
        'GET',
        `/api/patients/${pid}/visits/${oldVisit}`,
      )
      return r.status === 200 ? r.body : undefined
    }, 'the archived visit on the tablet')
    expect(got.encounter?.registration.reason).toBe('old cough')
  })

  it('a browser session can neither write an archive document nor delete a visit nor forge a stub', async () => {
    const c = await stockClient(full.port, await full.token(clinician))
    clients.push(c)
    const year = lastYear - 2
    const url =
      `automerge:${archiveDocumentId((await full.api<{ clinic: { id: string } }>('GET', '/api/status')).body.clinic?.id ?? '', year, shardOf(pid, ARCHIVE_SHARDS))}` as AutomergeUrl
    const archive = await c.repo.find(url, { signal: AbortSignal.timeout(10_000) }).then(
      () => 'received',
      (err: unknown) => (err instanceof Error ? err.name : 'error'),
    )
    expect(archive).not.toBe('received')
    const dirUrl = (await full.api<{ directoryUrl: AutomergeUrl }>('GET', '/api/status')).body.directoryUrl
    const dir = (await c.repo.find<{ recordsRoot: AutomergeUrl }>(dirUrl)).doc()
    const root = rootLayout((await c.repo.find<ClinicRootDoc>(dir.recordsRoot)).doc())
    const bucket = await c.repo.find<ChartCollection>(
      root.chartBuckets[shardOf(pid, root.chartBuckets.length)]!,
      { signal: AbortSignal.timeout(15_000) },
    )
    const refusedDelete = refusalOn(bucket)
    bucket.change((b) => void delete b.charts[pid]!.encounters[newVisit])
    expect((await refusedDelete).name).toBe('ForbiddenWriteError')
    const refusedStub = refusalOn(bucket)
    bucket.change((b) => {
      const stub = b.charts[pid]!.archived![oldVisit]!
      stub.reason = new ImmutableString('forged')
    })
    expect((await refusedStub).name).toBe('ForbiddenWriteError')
    const { chart } = (
      await full.api<ChartReply & { chart: { archived: Record<string, { reason: string }> } }>(
        'GET',
        `/api/patients/${pid}`,
      )
    ).body
    expect(Object.keys(chart.encounters)).toEqual([newVisit])
    expect(chart.archived[oldVisit]?.reason).toBe('old cough')
  })
})
