import type { BatchId, ItemId, PatientId, PrescriptionId } from '@clinic-mesh/contracts'
import type { OperationBody } from '@clinic-mesh/ledger'
import { tempDir, type TempDir } from '@clinic-mesh/testing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { TestDevice, qty } from './helpers/relay-device.js'
import { RelayProcess } from './helpers/relay-process.js'

const AMOX = 'amoxicillin-500' as ItemId
const L1 = 'L1' as BatchId

const formulary = (item: ItemId, controlled = false): OperationBody => ({
  kind: 'formulary-update',
  item,
  name: String(item),
  price: 120,
  status: 'active',
  controlled,
})
const receive = (item: ItemId, batch: BatchId, quantity: number): OperationBody => ({
  kind: 'receive',
  item,
  batch,
  expiry: '2099-12-31',
  quantity,
  unitCost: 60,
  supplier: 'KEMSA',
  grn: `GRN-${batch}`,
})
const dispense = (item: ItemId, batch: BatchId, quantity: number, stockSeen: number): OperationBody => ({
  kind: 'dispense',
  item,
  batch,
  quantity,
  patient: 'pt_1' as PatientId,
  prescription: 'rx_1' as PrescriptionId,
  prescriptionHash: 'h1',
  priceSeen: 120,
  stockSeen,
})

interface ConflictJson {
  id: string
  kind: string
  status: string
  patient: string
  prescription: string
  device: string
  user: string
  at: string
  seen: Record<string, unknown>
  authority: Record<string, unknown>
}

describe('relay settlement (real relay process, device over WebSocket)', () => {
  let dir: TempDir
  let relay: RelayProcess
  const devices: TestDevice[] = []

  beforeEach(async () => {
    dir = await tempDir('relay-settle-')
    relay = await RelayProcess.start(dir.path)
  })
  afterEach(async () => {
    await Promise.all(devices.splice(0).map((d) => d.close()))
    await relay.stop()
    await dir.remove()
  })

  it('settles receive + dispense and publishes the settled inventory with watermarks back to the device', async () => {
    const dev = new TestDevice(relay.syncUrl, 'clinic-a', 'tab-1')
    devices.push(dev)
    dev.createClinic()
    const reg = await dev.register(relay)
    expect(reg.status).toBe(201)
    dev.append([formulary(AMOX)], 'admin')
    dev.append([receive(AMOX, L1, 100), dispense(AMOX, L1, 30, 100)])
    const inv = await dev.settled((d, s) => qty(s, L1) === 70 && d.watermarks['tab-1'] === 3)
    expect(inv.decidedOps).toBe(3)
    expect(inv.clinic).toBe('clinic-a')
    const status = await relay.api<{
      clinics: {
        clinic: string
        opsSettled: number
        conflictsOpen: number
        devices: { device: string; watermark: number }[]
      }[]
    }>('GET', '/api/status')
    expect(status.body.clinics).toMatchObject([
      { clinic: 'clinic-a', opsSettled: 3, conflictsOpen: 0, devices: [{ device: 'tab-1', watermark: 3 }] },
    ])
    const api = await relay.api<{ inventory: { stock: Record<string, Record<string, number>> } }>(
      'GET',
      '/api/inventory?clinic=clinic-a',
    )
    expect(api.body.inventory.stock['site-a']?.L1).toBe(70)
  })

  it('turns a double dispense beyond stock into a conflict, resolves it through the API, and the queue shows it resolved', async () => {
    const dev1 = new TestDevice(relay.syncUrl, 'clinic-a', 'tab-1')
    const dev2 = new TestDevice(relay.syncUrl, 'clinic-a', 'tab-2')
    devices.push(dev1, dev2)
    dev1.createClinic()
    expect((await dev1.register(relay)).status).toBe(201)
    dev1.append([formulary(AMOX)], 'admin')
    dev1.append([receive(AMOX, L1, 100)])
    await dev1.settled((_d, s) => qty(s, L1) === 100)
    expect((await dev2.register(relay, dev1.directory.url)).status).toBe(200)
    await dev2.joinClinic(dev1.directory.url)
    // both tablets saw 100 in stock and dispensed from the same lot before syncing
    dev1.append([dispense(AMOX, L1, 70, 100)])
    dev2.append([dispense(AMOX, L1, 50, 100)])
    const queue = await dev1.conflictQueue((q) => Object.keys(q.conflicts).length === 1)
    const [queued] = Object.values(queue.conflicts).map(
      (j) => JSON.parse(j) as { kind: string; status: string },
    )
    expect(queued).toMatchObject({ kind: 'insufficient-stock', status: 'open' })

    const open = await relay.api<{ conflicts: ConflictJson[] }>(
      'GET',
      '/api/conflicts?status=open&clinic=clinic-a',
    )
    expect(open.body.conflicts).toHaveLength(1)
    const c = open.body.conflicts[0]!
    expect(c).toMatchObject({
      kind: 'insufficient-stock',
      patient: 'pt_1',
      prescription: 'rx_1',
      user: `u-${c.device}`,
    })
    expect(c.seen).toMatchObject({ stock: 100 })
    const left = c.device === 'tab-2' ? 30 : 50 // whichever settled second finds what the first one left
    expect(c.authority).toMatchObject({ stock: left })
    expect(Date.parse(c.at)).toBeGreaterThan(0)

    const res = await relay.api<{ outcome: string }>('POST', `/api/conflicts/${c.id}/resolution`, {
      clinic: 'clinic-a',
      decision: { action: 'partial-dispense', quantity: left },
      note: 'gave what was left',
      user: 'u-rev',
      role: 'pharmacist',
    })
    expect(res.status).toBe(200)
    expect(res.body.outcome).toBe('resolved')
    await dev1.conflictQueue(
      (q) => (JSON.parse(q.conflicts[c.id]!) as { status: string }).status === 'resolved',
    )
    await dev2.settled((_d, s) => qty(s, L1) === 0)
    expect(
      (await relay.api<{ conflicts: unknown[] }>('GET', '/api/conflicts?status=open&clinic=clinic-a')).body
        .conflicts,
    ).toHaveLength(0)
  })

  it('refuses a controlled-drug resolution without supervisor approval (conflict stays open), accepts it with one', async () => {
    const MORPH = 'morphine-10' as ItemId
    const M1 = 'M1' as BatchId
    const dev = new TestDevice(relay.syncUrl, 'clinic-a', 'tab-1')
    devices.push(dev)
    dev.createClinic()
    expect((await dev.register(relay)).status).toBe(201)
    dev.append([formulary(MORPH, true)], 'admin')
    dev.append([receive(MORPH, M1, 10), dispense(MORPH, M1, 8, 10), dispense(MORPH, M1, 5, 10)])
    await dev.conflictQueue((q) => Object.keys(q.conflicts).length === 1)
    const open = await relay.api<{ conflicts: (ConflictJson & { critical: boolean })[] }>(
      'GET',
      '/api/conflicts?status=open&clinic=clinic-a',
    )
    const c = open.body.conflicts[0]!
    expect(c.critical).toBe(true)
    const body = {
      clinic: 'clinic-a',
      decision: { action: 'partial-dispense', quantity: 2 },
      note: 'two left',
      user: 'u-ph',
      role: 'pharmacist',
    }
    const refused = await relay.api<{ error: { name: string }; conflict: { status: string } }>(
      'POST',
      `/api/conflicts/${c.id}/resolution`,
      body,
    )
    expect(refused.status).toBe(403)
    expect(refused.body.error.name).toBe('ResolutionApprovalError')
    expect(refused.body.conflict.status).toBe('open')
    const still = await relay.api<{ conflicts: { id: string; refusals: unknown[] }[] }>(
      'GET',
      '/api/conflicts?status=open&clinic=clinic-a',
    )
    expect(still.body.conflicts).toMatchObject([
      { id: c.id, refusals: [{ error: 'ResolutionApprovalError' }] },
    ])

    const approved = await relay.api<{ outcome: string }>('POST', `/api/conflicts/${c.id}/resolution`, {
      ...body,
      approval: { user: 'u-sup', role: 'supervisor' },
    })
    expect(approved.status).toBe(200)
    expect(approved.body.outcome).toBe('resolved')
    const inv = await dev.settled((_d, s) => qty(s, M1) === 0)
    // the relay's own resolution log is a ledger device too: both its operations are decided
    expect(inv.watermarks['relay-clinic-a']).toBe(2)
  })
})
