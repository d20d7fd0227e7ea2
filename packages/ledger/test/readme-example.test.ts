import { expect, it } from 'vitest'
import type { DeviceId, ItemId, BatchId, LocationId, UserId } from '@clinic-mesh/contracts'
import { DeviceLog, SettlementEngine, project, suggestFefo } from '@clinic-mesh/ledger'
it('readme example runs', () => {
  const site = 'site-a' as LocationId
  const admin = new DeviceLog({
    device: 'dev-admin' as DeviceId,
    session: { user: 'u-admin' as UserId, role: 'admin', site },
  })
  const tablet = new DeviceLog({
    device: 'dev-1' as DeviceId,
    session: { user: 'u-1' as UserId, role: 'pharmacist', site },
  })
  const item = 'amoxicillin-500' as ItemId

  const relay = new SettlementEngine()
  relay.ingest([
    admin.append({
      kind: 'formulary-update',
      item,
      name: 'Amoxicillin 500',
      price: 120,
      status: 'active',
      controlled: false,
    }),
  ])
  relay.settle()
  relay.ingest([
    tablet.append({
      kind: 'receive',
      item,
      batch: 'L1' as BatchId,
      expiry: '2027-06-30',
      quantity: 100,
      unitCost: 60,
      supplier: 'KEMSA',
      grn: 'GRN-1',
    }),
  ])
  relay.settle()

  // offline on the tablet: settled figures + unsettled ops → tentative stock, FEFO suggestion
  const view = project(relay.inventory(), [], { site })
  const [pick] = suggestFefo(view, item, 10, Date.now()).picks
  const op = tablet.append({
    kind: 'dispense',
    item,
    batch: pick!.batch,
    quantity: 10,
    patient: 'p1' as never,
    prescription: 'rx1' as never,
    prescriptionHash: 'h1',
    priceSeen: 120,
    stockSeen: pick!.quantity,
  })
  const lines = project(relay.inventory(), [op], { site }).lines
  expect(lines[0]).toMatchObject({ settled: 100, tentative: 90 }) // settled 100, tentative 90

  // back online: the relay settles it
  relay.ingest([op])
  expect(relay.settle().settled).toEqual([op.id]) // { settled: [op.id], conflicts: [], ... }
})
