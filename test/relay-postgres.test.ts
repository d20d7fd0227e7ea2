import { access } from 'node:fs/promises'
import { join } from 'node:path'
import type { BatchId, ItemId, PatientId, PrescriptionId } from '@clinic-mesh/contracts'
import { PostgresStorageAdapter } from '@clinic-mesh/storage-postgres'
import { type PostgresCluster, startPostgresCluster, tempDir, type TempDir } from '@clinic-mesh/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestDevice, qty } from './helpers/relay-device.js'
import { RelayProcess } from './helpers/relay-process.js'

// `relay --data DIR --postgres URL`: the relay keeps its documents, checkpoints, clinic registry and key in PostgreSQL
// (nothing in DIR). A relay restarted on the same database, with the device gone, still has its clinic, its settled
// inventory and the operation log, loaded from PostgreSQL.

const ITEM = 'paracetamol-500' as ItemId
const LOT = 'P1' as BatchId

interface Status {
  clinics: { clinic: string; opsSettled: number; opsDecided: number }[]
}

let cluster: PostgresCluster
beforeAll(async () => {
  cluster = await startPostgresCluster()
})
afterAll(async () => {
  await cluster?.stop()
})

describe('relay over PostgreSQL (--postgres URL)', () => {
  it('a relay restarted on the same database keeps its clinics; none of its documents are files', async () => {
    const dir: TempDir = await tempDir('relay-postgres-')
    let relay = await RelayProcess.start(dir.path, 0, ['--postgres', cluster.url])
    const dev = new TestDevice(relay.syncUrl, 'clinic-pg', 'tab-1')
    try {
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
        {
          kind: 'dispense',
          item: ITEM,
          batch: LOT,
          quantity: 10,
          patient: 'pt_9' as PatientId,
          prescription: 'rx_9' as PrescriptionId,
          prescriptionHash: 'h9',
          priceSeen: 5,
          stockSeen: 100,
        },
      ])
      await dev.settled((d, s) => qty(s, LOT) === 90 && d.decidedOps === 3)
      // the device leaves for good: whatever the next relay knows, it read from the database or DIR
      await dev.close()
      expect(await relay.stop('SIGTERM'), relay.stderr.join('\n')).toBe(0)

      for (const file of ['repo', 'settlement', 'clinics.json', 'relay-key.json'])
        await expect(access(join(dir.path, file))).rejects.toMatchObject({ code: 'ENOENT' })
      const chunks = new PostgresStorageAdapter({ connectionString: cluster.url })
      expect((await chunks.loadRange([])).length).toBeGreaterThan(0)
      await chunks.close()

      relay = await RelayProcess.start(dir.path, 0, ['--postgres', cluster.url])
      const status = await relay.api<Status>('GET', '/api/status')
      expect(status.body.clinics).toMatchObject([{ clinic: 'clinic-pg', opsSettled: 3, opsDecided: 3 }])
      const inv = await relay.api<{ inventory: { stock: Record<string, Record<string, number>> } }>(
        'GET',
        '/api/inventory?clinic=clinic-pg',
      )
      expect(inv.body.inventory.stock['site-a']?.P1).toBe(90)
    } finally {
      await dev.close()
      await relay.stop('SIGKILL')
      await dir.remove()
    }
  })

  it('an unreachable database fails the start with PostgresStorageError', async () => {
    const dir = await tempDir('relay-postgres-down-')
    try {
      const dead = `postgres://postgres@127.0.0.1:${cluster.port}/no_such_database`
      await expect(RelayProcess.start(dir.path, 0, ['--postgres', dead])).rejects.toThrow(
        /relay exited with 1:.*PostgresStorageError/s,
      )
    } finally {
      await dir.remove()
    }
  })
})
