import { ImmutableString } from '@automerge/automerge'
import type { AutomergeUrl, DocHandle } from '@automerge/automerge-repo'
import { dayKey, todayDocumentId, type TodayDoc } from '@clinic-mesh/store'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceCluster, type DeviceProcess } from './helpers/device-process.js'
import { stockClient, type StockClient } from '@clinic-mesh/testing/stock-sync'
import { refusalOn } from './helpers/refusal.js'

/**
 * Issue 17 #4: the today document (the day's open visits, read first by a joining tablet) is derived data the device
 * node writes from the charts. A stock automerge-repo client signed in over `/sync` may read it with a clinical role,
 * and may not write it with any role: not even one that opens visits (front desk), nor with malformed content.
 */
const clerk = { name: 'Rita Desk', role: 'registration' }
const nurse = { name: 'Nala Nurse', role: 'nurse' }
const pharmacist = { name: 'Pita Pharm', role: 'pharmacist' }
const admin = { name: 'Ada Admin', role: 'admin' }

describe('hostile writes to the today document over /sync', () => {
  let cluster: DeviceCluster
  let desk: DeviceProcess
  let pid: string
  let todayUrl: AutomergeUrl
  const clients: StockClient[] = []
  const client = async (as: { name: string; role: string }): Promise<StockClient> => {
    const c = await stockClient(desk.port, await desk.token(as))
    clients.push(c)
    return c
  }
  const open = async (c: StockClient): Promise<DocHandle<TodayDoc>> =>
    c.repo.find<TodayDoc>(todayUrl, { signal: AbortSignal.timeout(15_000) })
  const queue = async (): Promise<string[]> =>
    (await desk.api<{ queue: { pid: string }[] }>('GET', '/api/queue')).body.queue.map((e) => e.pid)

  beforeAll(async () => {
    cluster = await DeviceCluster.start(['desk'], { env: { CLINIC_MESH_LOGIN_DELAY_MS: '0' } })
    desk = cluster.devices[0]!
    await desk.ready()
    const made = await desk.api<{ id: string }>(
      'POST',
      '/api/patients',
      { given: 'Chikondi', family: 'Phiri', birthDate: '1990-04-02', sex: 'female', reason: 'cough' },
      { as: clerk },
    )
    expect(made.status).toBe(201)
    pid = made.body.id
    const c = await client(clerk)
    const status = await desk.api<{ directoryUrl: AutomergeUrl }>('GET', '/api/status')
    const dir = await c.repo.find<{ recordsRoot: AutomergeUrl }>(status.body.directoryUrl)
    const root = await c.repo.find<{ clinic: string }>(dir.doc().recordsRoot)
    todayUrl = `automerge:${todayDocumentId(root.doc().clinic, dayKey(new Date()))}` as AutomergeUrl
  })

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()))
    await cluster?.stop()
  })

  it('a front-desk session reads it (the queue), and its forged entry is refused: the node writes it, no browser', async () => {
    const c = await client(clerk)
    const h = await open(c)
    expect(Object.keys(h.doc().visits)).toEqual([pid])
    const refused = refusalOn(h)
    h.change((d) => {
      d.visits['pt_forged'] = new ImmutableString(
        JSON.stringify(['t1', 's1\tEvil\tQueue\t1990-01-01\tmale\t\t', '[]']),
      )
    })
    const r = await refused
    expect(r.name).toBe('ForbiddenWriteError')
    expect(r.message).toMatch(/no one writes visits\.pt_forged of a today document from a browser/)
  })

  it('malformed content and deletions are refused for every role; the node’s document and queue are unchanged', async () => {
    const n = await client(nurse)
    const hn = await open(n)
    const refusedNurse = refusalOn(hn)
    hn.change((d) => {
      d.visits[pid] = new ImmutableString('garbage')
      ;(d as unknown as { layout: string }).layout = 'today/999'
    })
    expect((await refusedNurse).name).toBe('ForbiddenWriteError')
    const p = await client(pharmacist)
    const hp = await open(p)
    const refusedPharmacist = refusalOn(hp)
    hp.change((d) => void delete d.visits[pid])
    expect((await refusedPharmacist).name).toBe('ForbiddenWriteError')
    // a fresh session sees the node's copy: one entry, well-formed; the queue still holds the visit
    const fresh = await open(await client(clerk))
    expect(Object.keys(fresh.doc().visits)).toEqual([pid])
    expect(JSON.parse(fresh.doc().visits[pid]!.val)[0]).toBe('t1')
    expect(fresh.doc().layout).toBe('today/1')
    expect(await queue()).toEqual([pid])
  })

  it('an admin session does not receive it (no clinical role)', async () => {
    const c = await client(admin)
    await expect(open(c)).rejects.toThrow()
  })
})
