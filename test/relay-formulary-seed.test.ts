import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { ESSENTIAL_MEDICINES } from '@clinic-mesh/ledger'
import { tempDir, type TempDir } from '@clinic-mesh/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceProcess, TEST_ADMIN_PASSWORD, pollDevice } from './helpers/device-process.js'
import { RelayProcess } from './helpers/relay-process.js'

const DEVICE_MAIN = fileURLToPath(new URL('../apps/device/dist/main.js', import.meta.url))

interface StockReply {
  lines: { item: string; batch: string; settled: number; tentative: number }[]
  items: Record<string, { name: string; price: number; status: string; controlled: boolean }>
}

/** `clinic-mesh seed-formulary` (what `npm start` runs on its founding device), as its own process. */
async function seed(url: string, password: string): Promise<{ added: number; already: number }> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [DEVICE_MAIN, 'seed-formulary', '--url', url],
    {
      env: { ...process.env, CLINIC_MESH_ADMIN_PASSWORD: password },
    },
  )
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as { added: number; already: number }
}

describe('the starting essential-medicines formulary (real relay and device processes)', () => {
  let dir: TempDir
  let relay: RelayProcess
  let node: DeviceProcess

  beforeAll(async () => {
    dir = await tempDir('formulary-seed-')
    relay = await RelayProcess.start(`${dir.path}/relay`)
    node = await DeviceProcess.start({
      dataDir: `${dir.path}/pharmacy`,
      name: 'pharmacy',
      clinicFile: `${dir.path}/clinic.json`,
      initClinic: 'Seed Clinic',
      relay: `ws://127.0.0.1:${relay.port}`,
    })
    await node.ready()
  })
  afterAll(async () => {
    await node?.stop('SIGKILL')
    await relay?.stop('SIGKILL')
    await dir?.remove()
  })

  it('is entered as the admin, settled by the relay, and a receipt of a seeded item settles with no conflict', async () => {
    const url = `http://127.0.0.1:${node.port}`
    expect(ESSENTIAL_MEDICINES.length).toBeGreaterThanOrEqual(30)
    expect(await seed(url, TEST_ADMIN_PASSWORD)).toMatchObject({
      added: ESSENTIAL_MEDICINES.length,
      already: 0,
    })
    // a second run (a resumed demo) adds nothing
    expect(await seed(url, TEST_ADMIN_PASSWORD)).toMatchObject({
      added: 0,
      already: ESSENTIAL_MEDICINES.length,
    })
    // a wrong password enters nothing
    await expect(seed(url, 'not-the-password')).rejects.toThrow(/FormularySeedError/)

    const items = await pollDevice(async () => {
      const s = (await node.api<StockReply>('GET', '/api/stock')).body
      return Object.keys(s.items).length === ESSENTIAL_MEDICINES.length ? s.items : undefined
    }, 'the formulary settled by the relay')
    expect(items['itm_amoxicillin-250-cap']).toMatchObject({
      name: 'Amoxicillin 250 mg capsule',
      status: 'active',
      controlled: false,
    })
    expect(items['itm_morphine-10-inj']).toMatchObject({ controlled: true })
    expect(items['itm_artemether-lumefantrine-tab']?.name).toBe(
      'Artemether + lumefantrine 20 mg + 120 mg tablet',
    )

    // the "Received 30 → two not-in-formulary conflicts": a seeded item is received and settles cleanly
    const grn = {
      id: 'grn-seeded-1',
      item: 'itm_amoxicillin-250-cap',
      batch: 'AMX-2801',
      expiry: '2028-01-31',
      quantity: 30,
      unitCost: 2,
      supplier: 'CMST',
      grn: 'G-7',
    }
    expect((await node.api('POST', '/api/stock/receipts', grn)).status).toBe(201)
    await pollDevice(async () => {
      const s = (await node.api<StockReply>('GET', '/api/stock')).body
      return s.lines.find((l) => l.batch === 'AMX-2801')?.settled === 30
    }, 'the receipt settled by the relay')
    const open = await relay.api<{ conflicts: unknown[] }>('GET', '/api/conflicts?status=open')
    expect(open.body.conflicts).toEqual([])
  })

  it('refuses a formulary entry from a nurse at the device (403), and nothing reaches the formulary', async () => {
    const r = await node.api<{ error: { name: string } }>(
      'POST',
      '/api/stock/formulary',
      { id: 'fm-nurse', item: 'itm_nurse-pick', name: 'Something', price: 1 },
      { as: { name: 'nurse-a', role: 'nurse' } },
    )
    expect(r.status).toBe(403)
    const s = (await node.api<StockReply>('GET', '/api/stock')).body
    expect(s.items['itm_nurse-pick']).toBeUndefined()
  })
})
