import { ImmutableString } from '@automerge/automerge'
import type { AutomergeUrl, DocHandle } from '@automerge/automerge-repo'
import { cbor } from '@automerge/automerge-repo/slim'
import { rootLayout, shardOf, type ClinicRootDoc } from '@clinic-mesh/store'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { DeviceCluster, pollDevice, type DeviceProcess } from './helpers/device-process.js'
import { stockClient, type StockClient } from '@clinic-mesh/testing/stock-sync'
import { refusalOn } from './helpers/refusal.js'

/**
 * Issue "Authority at the node": a signed-in browser session is not a full-trust peer of its device node. Each case
 * is what a stock automerge-repo client holding a session could do over `/sync` on the old code (read every user's
 * password verifier, write any section of any chart), now refused by the node's sync gate.
 */
const nurse = { name: 'Nala Nurse', role: 'nurse' }
const clerk = { name: 'Rita Desk', role: 'registration' }
const clinician = { name: 'Dr Banda', role: 'clinician' }
const pharmacist = { name: 'Pita Pharm', role: 'pharmacist' }
const supervisor = { name: 'Sue Visor', role: 'supervisor' }

interface Directory {
  recordsRoot: AutomergeUrl
  users: AutomergeUrl
  membership: AutomergeUrl
  audit: Record<string, AutomergeUrl>
  ledgerLogs: Record<string, Record<string, AutomergeUrl>>
}
type Bucket = {
  charts: Record<
    string,
    {
      encounters: Record<
        string,
        { clinician: { diagnoses: Record<string, unknown> }; triage: { vitals: Record<string, unknown> } }
      >
    }
  >
}
/** Resolves with the handle, or with the error automerge-repo gives for a document nobody would serve. */
async function findOrRefused<T>(c: StockClient, url: AutomergeUrl): Promise<DocHandle<T> | Error> {
  try {
    return await c.repo.find<T>(url, { signal: AbortSignal.timeout(15_000) })
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err))
  }
}

describe('authority at the node: what a signed-in browser session may sync', () => {
  let cluster: DeviceCluster
  let desk: DeviceProcess, ward: DeviceProcess
  let dirUrl: AutomergeUrl
  let pid: string, eid: string
  const clients: StockClient[] = []
  const client = async (d: DeviceProcess, as: { name: string; role: string }): Promise<StockClient> => {
    const c = await stockClient(d.port, await d.token(as))
    clients.push(c)
    return c
  }
  const chartOn = async (d: DeviceProcess) =>
    (await d.api<{ chart: Bucket['charts'][string] }>('GET', `/api/patients/${pid}`)).body.chart

  beforeAll(async () => {
    cluster = await DeviceCluster.start(['desk', 'ward'], { env: { CLINIC_MESH_LOGIN_DELAY_MS: '0' } })
    ;[desk, ward] = cluster.devices as [DeviceProcess, DeviceProcess]
    await Promise.all(cluster.devices.map((d) => d.ready()))
    const made = await desk.api<{ id: string; encounterId: string }>(
      'POST',
      '/api/patients',
      { given: 'Chikondi', family: 'Phiri', birthDate: '1990-04-02', sex: 'female', reason: 'cough' },
      { as: clinician },
    )
    expect(made.status).toBe(201)
    pid = made.body.id
    eid = made.body.encounterId
    dirUrl = (await desk.api<{ directoryUrl: AutomergeUrl }>('GET', '/api/status')).body.directoryUrl
    await pollDevice(
      async () => (await ward.api('GET', `/api/patients/${pid}`)).status === 200,
      'the patient reaches the ward',
    )
  })

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()))
    await cluster?.stop()
  })

  it("a nurse's session never receives the user register, the membership or the audit trail; the charts it does", async () => {
    const c = await client(desk, nurse)
    const dir = await c.repo.find<Directory>(dirUrl, { signal: AbortSignal.timeout(15_000) })
    const d = dir.doc()
    for (const url of [d.users, d.membership, ...Object.values(d.audit)]) {
      const got = await findOrRefused<Record<string, unknown>>(c, url)
      expect(got, `document ${url} must not reach a nurse's browser`).toBeInstanceOf(Error)
    }
    const root = rootLayout(
      (await c.repo.find<ClinicRootDoc>(d.recordsRoot, { signal: AbortSignal.timeout(15_000) })).doc(),
    )
    const bucketUrl = root.chartBuckets[shardOf(pid, root.chartBuckets.length)]!
    const bucket = await c.repo.find<Bucket>(bucketUrl, { signal: AbortSignal.timeout(15_000) })
    expect(Object.keys(bucket.doc().charts)).toContain(pid)
    expect(JSON.stringify(d)).not.toMatch(/verifier|wrapped|secret/i)
  })

  it("a clerk's diagnosis written over /sync is refused, never stored, never on another tablet; the nurse's vitals land and are audited", async () => {
    const c = await client(desk, clerk)
    const dir = (await c.repo.find<Directory>(dirUrl)).doc()
    const root = rootLayout((await c.repo.find<ClinicRootDoc>(dir.recordsRoot)).doc())
    const bucketUrl = root.chartBuckets[shardOf(pid, root.chartBuckets.length)] as AutomergeUrl
    const bucket = await c.repo.find<Bucket>(bucketUrl, { signal: AbortSignal.timeout(15_000) })
    const refused = refusalOn(bucket)
    bucket.change((b) => {
      const enc = b.charts[pid]?.encounters[eid]
      if (enc)
        enc.clinician.diagnoses.dx_forged = {
          text: new ImmutableString('HIV positive'),
          certainty: new ImmutableString('confirmed'),
        }
    })
    const r = await refused
    expect(r.name).toBe('ForbiddenWriteError')
    expect(r.message).toMatch(/registration user may not write the clinician/)
    expect(r.writes.some((w) => w.value === 'HIV positive')).toBe(true) // what was typed comes back to be shown

    // the nurse's vitals over /sync are accepted and reach the other tablet: the gate is not a wall
    const n = await client(desk, nurse)
    const nb = await n.repo.find<Bucket>(bucketUrl, { signal: AbortSignal.timeout(15_000) })
    nb.change((b) => {
      const enc = b.charts[pid]?.encounters[eid]
      if (enc)
        enc.triage.vitals.v_nurse = {
          values: { pulseBpm: 88 },
          takenAt: new ImmutableString(new Date().toISOString()),
          by: { user: new ImmutableString('usr_nala-nurse'), device: new ImmutableString('web') },
        }
    })
    await pollDevice(
      async () => (await chartOn(ward)).encounters[eid]?.triage.vitals.v_nurse !== undefined,
      "the nurse's vitals reach the ward",
    )
    // the clerk's diagnosis never did, on either tablet
    expect(Object.keys((await chartOn(desk)).encounters[eid]?.clinician.diagnoses ?? {})).toEqual([])
    expect(Object.keys((await chartOn(ward)).encounters[eid]?.clinician.diagnoses ?? {})).toEqual([])
    // attributed where it landed: the nurse's user, this device, the path and the change hash
    const audit = await pollDevice(async () => {
      const a = await desk.api<{ touches: { user: string; action: string }[] }>(
        'GET',
        `/api/audit?patient=${pid}`,
        undefined,
        { as: supervisor },
      )
      return a.body.touches.some((t) => t.user === 'usr_nala-nurse' && t.action === 'change')
        ? a.body
        : undefined
    }, 'the audit trail names the nurse')
    expect(audit.touches.some((t) => t.user === 'usr_rita-desk' && t.action === 'change')).toBe(false)
  })

  it("a clinician's session cannot reach a ledger log (where a forged formulary update would go)", async () => {
    const receipt = {
      id: 'op_auth_r1',
      item: 'amox-500',
      batch: 'B1',
      expiry: '2030-01-01',
      quantity: 10,
      unitCost: 5,
      supplier: 'CMS',
      grn: 'G1',
    }
    expect((await desk.api('POST', '/api/stock/receipts', receipt, { as: pharmacist })).status).toBe(201)
    const c = await client(desk, clinician)
    const dir = await pollDevice(async () => {
      const d = (await c.repo.find<Directory>(dirUrl)).doc()
      return Object.keys(d.ledgerLogs ?? {}).length > 0 ? d : undefined
    }, 'the ledger log is listed')
    for (const periods of Object.values(dir.ledgerLogs)) {
      for (const url of Object.values(periods)) expect(await findOrRefused(c, url)).toBeInstanceOf(Error)
    }
  })

  it('a session that ended stops syncing at once: the next message closes the socket', async () => {
    const token = await desk.token({ name: 'Ned Nurse', role: 'nurse' })
    const c = await stockClient(desk.port, token)
    clients.push(c)
    const dir = (await c.repo.find<Directory>(dirUrl)).doc()
    const root = rootLayout((await c.repo.find<ClinicRootDoc>(dir.recordsRoot)).doc())
    const bucket = await c.repo.find<Bucket>(
      root.chartBuckets[shardOf(pid, root.chartBuckets.length)] as AutomergeUrl,
    )
    const logout = await fetch(`http://127.0.0.1:${desk.port}/api/logout`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    })
    expect(logout.status).toBe(200)
    await c.stopReconnects()
    bucket.change((b) => {
      const enc = b.charts[pid]?.encounters[eid]
      if (enc)
        enc.triage.vitals.v_after_logout = {
          values: { pulseBpm: 200 },
          takenAt: new ImmutableString(new Date().toISOString()),
          by: { user: new ImmutableString('usr_ned-nurse'), device: new ImmutableString('web') },
        }
    })
    await pollDevice(
      () =>
        Promise.resolve(desk.stderr.some((l) => l.includes('UnauthenticatedError') && l.includes(c.peerId))),
      'the node closes the ended session',
    )
    await c.close()
    expect((await chartOn(desk)).encounters[eid]?.triage.vitals.v_after_logout).toBeUndefined()
  })

  it('a socket whose session ended is closed when the node next has something for it ("Switch user")', async () => {
    const token = await desk.token({ name: 'Nora Nurse', role: 'nurse' })
    const c = await stockClient(desk.port, token, 'web-switch-user')
    clients.push(c)
    const dir = (await c.repo.find<Directory>(dirUrl)).doc()
    const root = rootLayout((await c.repo.find<ClinicRootDoc>(dir.recordsRoot)).doc())
    await c.repo.find<Bucket>(root.chartBuckets[shardOf(pid, root.chartBuckets.length)] as AutomergeUrl)
    const logout = await fetch(`http://127.0.0.1:${desk.port}/api/logout`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    })
    expect(logout.status).toBe(200)
    await c.stopReconnects()
    // the browser sends nothing; the node writes the chart (another tablet's clinician) and has a change for it
    const r = await desk.api('PATCH', `/api/encounters/${eid}`, { patientId: pid, notes: 'seen again' })
    expect(r.status).toBe(200)
    // without the close the socket would stay open and silent: the page would never reconnect as the new user
    await pollDevice(
      () =>
        Promise.resolve(desk.stderr.some((l) => l.includes('UnauthenticatedError') && l.includes(c.peerId))),
      'the node closes the socket of the ended session',
    )
    await c.close()
  })

  it('the browser no longer reports its own reads and writes: POST /api/audit is gone (the node audits what lands)', async () => {
    const r = await desk.api<{ error: { name: string } }>(
      'POST',
      '/api/audit',
      { action: 'read', patient: pid },
      { as: nurse },
    )
    expect([r.status, r.body.error.name]).toEqual([404, 'RouteNotFoundError'])
  })

  it("a browser cannot join under a device's peer id (whose documents the node would share freely)", async () => {
    const token = await desk.token(nurse)
    const ws = new WebSocket(`ws://127.0.0.1:${desk.port}/sync`, {
      headers: { authorization: `Bearer ${token}` },
    })
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    )
    ws.on('open', () =>
      ws.send(
        cbor.encode({
          type: 'join',
          senderId: 'dev_ward',
          peerMetadata: {},
          supportedProtocolVersions: ['1'],
        }),
      ),
    )
    ws.on('error', () => undefined)
    const { code, reason } = await closed
    expect(code).toBe(1008)
    expect(reason).toMatch(/^PeerMismatchError/)
  })
})
