import type { BatchId, ItemId, PatientId, PrescriptionId } from '@clinic-mesh/contracts'
import type { InventoryState, OperationBody } from '@clinic-mesh/ledger'
import { tempDir, type TempDir } from '@clinic-mesh/testing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { SITE, TestDevice, qty } from './helpers/relay-device.js'
import { RelayProcess } from './helpers/relay-process.js'

const AMOX = 'amoxicillin-500' as ItemId
const LATE = 'LOT-LATE' as BatchId
const EARLY = 'LOT-EARLY' as BatchId
const EXPIRED = 'LOT-EXPIRED' as BatchId

const formulary: OperationBody = {
  kind: 'formulary-update',
  item: AMOX,
  name: 'Amoxicillin 500 mg',
  price: 120,
  status: 'active',
  controlled: false,
}
const receive = (batch: BatchId, expiry: string, quantity: number): OperationBody => ({
  kind: 'receive',
  item: AMOX,
  batch,
  expiry,
  quantity,
  unitCost: 60,
  supplier: 'KEMSA',
  grn: `GRN-${batch}`,
})
// no lot named: the relay allocates first-expiry-first-out
const dispenseAny = (quantity: number, stockSeen: number): OperationBody => ({
  kind: 'dispense',
  item: AMOX,
  batch: null,
  quantity,
  patient: 'pt_1' as PatientId,
  prescription: 'rx_1' as PrescriptionId,
  prescriptionHash: 'h1',
  priceSeen: 120,
  stockSeen,
})

describe('relay settles dispenses first-expiry-first-out (real relay process, device over WebSocket)', () => {
  let dir: TempDir
  let relay: RelayProcess
  const devices: TestDevice[] = []

  beforeEach(async () => {
    dir = await tempDir('relay-fefo-')
    relay = await RelayProcess.start(dir.path)
  })
  afterEach(async () => {
    await Promise.all(devices.splice(0).map((d) => d.close()))
    await relay.stop()
    await dir.remove()
  })

  it('draws the earlier-expiring lot though it was received last, skips an expired one, then moves on to the next', async () => {
    const dev = new TestDevice(relay.syncUrl, 'clinic-a', 'tab-1')
    devices.push(dev)
    dev.createClinic()
    expect((await dev.register(relay)).status).toBe(201)
    const state = (doc: { state: string }): InventoryState => JSON.parse(doc.state) as InventoryState
    dev.append([formulary], 'admin')
    // the later-expiring lot arrives first; an expired lot is still on the shelf
    dev.append([
      receive(LATE, '2099-12-31', 10),
      receive(EARLY, '2098-06-30', 10),
      receive(EXPIRED, '2020-01-31', 5),
      dispenseAny(4, 25),
    ])
    const first = await dev.settled((d) => d.watermarks['tab-1'] === 5)
    expect([qty(state(first), EARLY), qty(state(first), LATE), qty(state(first), EXPIRED)]).toEqual([
      6, 10, 5,
    ])

    // more than the earlier lot holds: it is emptied, the rest comes from the later one
    dev.append([dispenseAny(8, 21)])
    const second = await dev.settled((d) => d.watermarks['tab-1'] === 6)
    expect([qty(state(second), EARLY), qty(state(second), LATE), qty(state(second), EXPIRED)]).toEqual([
      0, 8, 5,
    ])
    const api = await relay.api<{ inventory: { stock: Record<string, Record<string, number>> } }>(
      'GET',
      '/api/inventory?clinic=clinic-a',
    )
    expect(api.body.inventory.stock[SITE]).toEqual({ [LATE]: 8, [EARLY]: 0, [EXPIRED]: 5 })
    const open = await relay.api<{ conflicts: unknown[] }>(
      'GET',
      '/api/conflicts?status=open&clinic=clinic-a',
    )
    expect(open.body.conflicts).toEqual([])
  })
})
