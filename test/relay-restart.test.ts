import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { BatchId, ItemId, PatientId, PrescriptionId } from '@clinic-mesh/contracts'
import { tempDir, type TempDir } from '@clinic-mesh/testing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { TestDevice, qty } from './helpers/relay-device.js'
import { RelayProcess } from './helpers/relay-process.js'

const ITEM = 'paracetamol-500' as ItemId
const LOT = 'P1' as BatchId

function dispense(quantity: number, stockSeen: number) {
  return {
    kind: 'dispense',
    item: ITEM,
    batch: LOT,
    quantity,
    patient: 'pt_9' as PatientId,
    prescription: 'rx_9' as PrescriptionId,
    prescriptionHash: 'h9',
    priceSeen: 5,
    stockSeen,
  } as const
}

interface Status {
  clinics: { clinic: string; opsSettled: number; opsDecided: number }[]
}

describe('relay restart (checkpoint restore, no op settled twice)', () => {
  let dir: TempDir
  let relay: RelayProcess
  let dev: TestDevice

  beforeEach(async () => {
    dir = await tempDir('relay-restart-')
    relay = await RelayProcess.start(dir.path)
    dev = new TestDevice(relay.syncUrl, 'clinic-r', 'tab-1')
    dev.createClinic()
    expect((await dev.register(relay)).status).toBe(201)
    dev.append(
      [
        {
          kind: 'formulary-update',
          item: ITEM,
          name: 'Paracetamol',
          price: 5,
          status: 'active',
          controlled: false,
        },
      ],
      'admin',
    )
    dev.append([
      {
        kind: 'receive',
        item: ITEM,
        batch: LOT,
        expiry: '2099-01-31',
        quantity: 100,
        unitCost: 2,
        supplier: 'S',
        grn: 'G1',
      },
      dispense(10, 100),
    ])
    await dev.settled((d, s) => qty(s, LOT) === 90 && d.decidedOps === 3)
  })
  afterEach(async () => {
    await dev.close()
    await relay.stop('SIGKILL')
    await dir.remove()
  })

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`restores settled state after ${signal} and settles only new operations`, async () => {
      // SIGKILL right after the round reached the device: the checkpoint may lag behind; the relay must catch up
      // from the log documents without settling anything twice
      const code = await relay.stop(signal)
      if (signal === 'SIGTERM') {
        expect(code).toBe(0)
        expect((await stat(join(dir.path, 'settlement', 'clinic-r.bin'))).size).toBeGreaterThan(0)
      }
      relay = await RelayProcess.start(dir.path, relay.port)

      if (signal === 'SIGTERM') {
        // restored from the checkpoint, before the device has said anything
        const status = await relay.api<Status>('GET', '/api/status')
        expect(status.body.clinics).toMatchObject([{ clinic: 'clinic-r', opsSettled: 3, opsDecided: 3 }])
        const inv = await relay.api<{ inventory: { stock: Record<string, Record<string, number>> } }>(
          'GET',
          '/api/inventory?clinic=clinic-r',
        )
        expect(inv.body.inventory.stock['site-a']?.P1).toBe(90)
      }

      // the device reconnects on its own (same port, same peer id) and syncs its whole log again: nothing doubles
      dev.append([dispense(5, 90)])
      const doc = await dev.settled(
        (d, s) => qty(s, LOT) === 85 && d.decidedOps === 4 && d.watermarks['tab-1'] === 4,
        60_000, // a reconnect after the relay's restart: seconds here, more on a loaded box
      )
      expect(doc.decidedOps).toBe(4)
      const after = await relay.api<Status & { clinics: { opsPending: number; conflictsOpen: number }[] }>(
        'GET',
        '/api/status',
      )
      expect(after.body.clinics).toMatchObject([
        { clinic: 'clinic-r', opsSettled: 4, opsDecided: 4, opsPending: 0, conflictsOpen: 0 },
      ])
      const inv = await relay.api<{ inventory: { stock: Record<string, Record<string, number>> } }>(
        'GET',
        '/api/inventory?clinic=clinic-r',
      )
      expect(inv.body.inventory.stock['site-a']?.P1).toBe(85)
    })
  }
})
