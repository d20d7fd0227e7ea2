import type { AutomergeUrl } from '@automerge/automerge-repo'
import type { BatchId, ItemId, PatientId, PrescriptionId, SettledInventoryDoc } from '@clinic-mesh/contracts'
import type { DeviceLogDoc } from '@clinic-mesh/ledger'
import { periodOf, verifySettledInventory } from '@clinic-mesh/ledger'
import {
  eventually,
  startPostgresCluster,
  tempDir,
  type PostgresCluster,
  type TempDir,
} from '@clinic-mesh/testing'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { TestDevice, qty } from './helpers/relay-device.js'
import { pollUntil } from './helpers/relay-poll.js'
import { RelayProcess } from './helpers/relay-process.js'

// Three relay instances (separate processes) on one throwaway PostgreSQL. Device 1 is linked to instance A, device
// 2 to instance B. An operation written through A reaches device 2 through B (LISTEN/NOTIFY and a reload from
// storage). One instance settles the clinic (its lease); it is killed with SIGKILL while settling a stream of
// dispenses; another instance takes the clinic over within 5 s, and every operation ends up settled exactly once.

const CLINIC = 'clinic-scale'
const ITEM = 'amoxicillin-250' as ItemId
const LOT = 'A1' as BatchId
const LEASE_MS = 1000

interface ClinicStatus {
  clinic: string
  opsSettled: number
  opsDecided: number
  opsPending: number
  conflictsOpen: number
  settler?: boolean
}
interface Status {
  relayKey: string
  clinics: ClinicStatus[]
}

const dispense = (n: number) =>
  ({
    kind: 'dispense',
    item: ITEM,
    batch: LOT,
    quantity: 1,
    patient: `pt_${n}` as PatientId,
    prescription: `rx_${n}` as PrescriptionId,
    prescriptionHash: `h${n}`,
    priceSeen: 5,
    stockSeen: 1000,
  }) as const

let cluster: PostgresCluster
const dirs: TempDir[] = []
const relays: RelayProcess[] = []
const devices: TestDevice[] = []

beforeAll(async () => {
  cluster = await startPostgresCluster()
})
// each case has its own instances (those of an earlier case would take its clinics' leases too)
afterEach(async () => {
  for (const d of devices.splice(0)) await d.close()
  for (const r of relays.splice(0)) await r.stop('SIGKILL')
  for (const d of dirs.splice(0)) await d.remove()
})
afterAll(async () => {
  await cluster?.stop()
})

async function startInstance(more: string[] = []): Promise<RelayProcess> {
  const dir = await tempDir('relay-instance-')
  dirs.push(dir)
  const r = await RelayProcess.start(dir.path, 0, [
    '--postgres',
    cluster.url,
    '--lease-ms',
    String(LEASE_MS),
    ...more,
  ])
  relays.push(r)
  return r
}

/** The instance name holding the clinic's lease (`host-pid-random`). */
async function leaseOwner(clinic: string): Promise<string | undefined> {
  const db = new pg.Client({ connectionString: cluster.url })
  await db.connect()
  try {
    const { rows } = await db.query<{ owner: string }>(
      'SELECT owner FROM relay_leases WHERE clinic = $1 AND expires_at > clock_timestamp()',
      [clinic],
    )
    return rows[0]?.owner
  } finally {
    await db.end()
  }
}

/** Until instance `r` has read the clinic's directory (from the database: another instance stored it). */
async function directoryAt(r: RelayProcess, clinic: string): Promise<void> {
  await pollUntil(async () => {
    const res = await r.api<{ clinics: { clinic: string; directoryLoaded: boolean }[] }>('GET', '/api/status')
    return res.body.clinics.find((c) => c.clinic === clinic)?.directoryLoaded
  }, `the directory of ${clinic} at ${r.syncUrl}`)
}

async function clinicOn(r: RelayProcess, clinic = CLINIC): Promise<ClinicStatus | undefined> {
  const res = await r.api<Status>('GET', '/api/status')
  return res.body.clinics.find((c) => c.clinic === clinic)
}

describe('relay instances over one PostgreSQL', () => {
  it('fans a change out across instances, and survives the settler killed mid-settlement', async () => {
    const [a, b, c] = [await startInstance(), await startInstance(), await startInstance()]
    const keys = await Promise.all(
      [a, b, c].map(async (r) => (await r.api<Status>('GET', '/api/status')).body.relayKey),
    )
    expect(new Set(keys).size, 'every instance signs as the one relay').toBe(1)

    const dev1 = new TestDevice(a.syncUrl, CLINIC, 'tab-1')
    const dev2 = new TestDevice(b.syncUrl, CLINIC, 'tab-2')
    devices.push(dev1, dev2)
    dev1.createClinic()
    expect((await dev1.register(a)).status).toBe(201)
    expect((await dev2.register(b, dev1.directory.url)).status).toBe(200)
    // B serves the directory once an instance (A, which got it from device 1) stored it and B read it from there
    await directoryAt(b, CLINIC)
    await dev2.joinClinic(dev1.directory.url)

    dev1.append(
      [
        {
          kind: 'formulary-update',
          item: ITEM,
          name: 'Amoxicillin',
          price: 5,
          status: 'active',
          controlled: false,
        },
      ],
      'admin',
    )
    dev1.append([
      {
        kind: 'receive',
        item: ITEM,
        batch: LOT,
        expiry: '2099-01-31',
        quantity: 1000,
        unitCost: 2,
        supplier: 'S',
        grn: 'G1',
      },
    ])

    // fan-out: device 2 (on B) follows device 1's log, written through A
    const logUrl = await eventually(() => dev2.directory.doc().ledgerLogs['tab-1']?.[periodOf(Date.now())], {
      timeoutMs: 10_000,
      on: [[dev2.directory, 'change']],
      what: "tab-1's log in the directory on device 2",
    })
    // asked before B has it, B answers "unavailable" and sends it once it has it: wait for that
    const log = await dev2.repo.find<DeviceLogDoc>(logUrl as string as AutomergeUrl, {
      allowableStates: ['ready', 'unavailable'],
    })
    await log.whenReady(['ready'])
    const latencies: number[] = []
    for (let i = 1; i <= 5; i++) {
      const t0 = performance.now()
      dev1.append([dispense(i)])
      await eventually(() => log.doc().ops.length >= 2 + i, {
        timeoutMs: 5000,
        on: [[log, 'change']],
        what: `op ${i} of tab-1 on device 2`,
      })
      latencies.push(performance.now() - t0)
    }
    latencies.sort((x, y) => x - y)
    process.stdout.write(`fan-out A -> device on B: ms ${latencies.map((l) => l.toFixed(0)).join(' ')}\n`)
    // the fan-out is NOTIFY-driven (no polling: without it no op arrives within the 5 s above); the 1 s figure is the
    // bench's (P12), measured beside a baseline; here only a bound a loaded 2-core box keeps (1.55 s seen at load 20)
    expect(latencies[2], 'median fan-out under 3 s').toBeLessThan(3000)
    await dev2.settled((d, s) => qty(s, LOT) === 995 && d.decidedOps === 7, 15_000)

    // exactly one instance settles the clinic: the one holding its lease; C serves no device of it and never opened it
    const settlers = await pollUntil(async () => {
      const s = await Promise.all([a, b].map((r) => clinicOn(r)))
      return s.every((x) => x !== undefined) && s.filter((x) => x?.settler).length === 1 ? s : undefined
    }, 'the clinic open on the instances serving its devices, one settling it')
    expect(await clinicOn(c), 'an instance opens only the clinics it serves or settles').toBeUndefined()
    const settler = [a, b][settlers.findIndex((s) => s?.settler)]!
    expect(await leaseOwner(CLINIC)).toContain(`-${settler.child.pid}-`)
    const survivors = [a, b, c].filter((r) => r !== settler)
    // the device that pushes is linked to an instance that survives
    const pusher = settler === b ? dev1 : dev2

    // a stream of dispenses, settled as it comes; the settler is killed while the last two are being settled
    const N = 40
    const KILL_AT = 16
    let killedAt = 0
    for (let i = 1; i <= N; i++) {
      pusher.append([dispense(5 + i)])
      if (i === KILL_AT) {
        await pusher.settled((d) => d.decidedOps >= 7 + i - 2, 15_000)
        expect(await settler.stop('SIGKILL')).toBeNull()
        killedAt = performance.now()
      } else if (killedAt === 0 && i % 4 === 0) await pusher.settled((d) => d.decidedOps >= 7 + i - 3, 15_000)
    }
    const total = 2 + 5 + N // formulary, receive, 5 dispenses, the stream
    const next = await pollUntil(async () => {
      for (const r of survivors) if ((await clinicOn(r))?.settler) return r
      return undefined
    }, 'another instance settles the clinic')
    const takeoverMs = performance.now() - killedAt
    process.stdout.write(`takeover after SIGKILL: ${takeoverMs.toFixed(0)} ms (lease ${LEASE_MS} ms)\n`)
    expect(takeoverMs).toBeLessThan(5000)

    const final = await pusher.settled((d) => d.decidedOps >= total, 20_000)
    const state = JSON.parse(final.state) as Parameters<typeof qty>[0]
    // exactly once: every dispense took one unit, none twice, none lost
    expect(final.decidedOps).toBe(total)
    expect(qty(state, LOT)).toBe(1000 - 5 - N)
    expect(
      verifySettledInventory(JSON.parse(JSON.stringify(final)) as SettledInventoryDoc, {
        relayKey: keys[0]!,
        clinic: CLINIC,
      }).ok,
    ).toBe(true)
    const status = await clinicOn(next)
    expect(status).toMatchObject({
      opsSettled: total,
      opsDecided: total,
      opsPending: 0,
      conflictsOpen: 0,
      settler: true,
    })

    // the instance with the device took over; C, with none, opens the clinic when a reviewer asks for it there, and
    // follows: same figures from the settler's checkpoint
    expect(next).not.toBe(c)
    const inv = await pollUntil(async () => {
      const r = await c.api<{ inventory: Parameters<typeof qty>[0] }>(
        'GET',
        `/api/inventory?clinic=${CLINIC}`,
      )
      return r.status === 200 && qty(r.body.inventory, LOT) === 1000 - 5 - N ? r : undefined
    }, 'the inventory read at C')
    expect(qty(inv.body.inventory, LOT)).toBe(1000 - 5 - N)
    expect(await clinicOn(c)).toMatchObject({ opsSettled: total, opsDecided: total, settler: false })

    // the checkpoint was written under the new lease's epoch; the dead owner's epoch can write no more
    const db = new pg.Client({ connectionString: cluster.url })
    await db.connect()
    try {
      const { rows } = await db.query<{ epoch: string; lease: string }>(
        'SELECT c.epoch, l.epoch AS lease FROM relay_checkpoints c JOIN relay_leases l USING (clinic) WHERE clinic = $1',
        [CLINIC],
      )
      expect(Number(rows[0]!.epoch)).toBeGreaterThan(1)
      expect(rows[0]!.epoch).toBe(rows[0]!.lease)
    } finally {
      await db.end()
    }
  })

  it('takes over a clinic whose settler dies right after its first registration', async () => {
    const clinic = 'clinic-early'
    const [a, b] = [await startInstance(), await startInstance()]
    const dev1 = new TestDevice(a.syncUrl, clinic, 'tab-e1')
    const dev2 = new TestDevice(b.syncUrl, clinic, 'tab-e2')
    devices.push(dev1, dev2)
    dev1.createClinic()
    expect((await dev1.register(a)).status).toBe(201)
    expect((await dev2.register(b, dev1.directory.url)).status).toBe(200)
    await directoryAt(b, clinic)
    await dev2.joinClinic(dev1.directory.url)
    const settler = await pollUntil(async () => {
      if ((await clinicOn(a, clinic))?.settler) return a
      if ((await clinicOn(b, clinic))?.settler) return b
      return undefined
    }, 'a settler')
    const [survivor, pusher] = settler === a ? [b, dev2] : [a, dev1]
    expect(await settler.stop('SIGKILL')).toBeNull()
    pusher.append(
      [
        {
          kind: 'formulary-update',
          item: ITEM,
          name: 'Amoxicillin',
          price: 5,
          status: 'active',
          controlled: false,
        },
      ],
      'admin',
    )
    pusher.append([
      {
        kind: 'receive',
        item: ITEM,
        batch: LOT,
        expiry: '2099-01-31',
        quantity: 50,
        unitCost: 2,
        supplier: 'S',
        grn: 'G1',
      },
      dispense(1),
    ])
    // the survivor takes the clinic over (then it maps the documents it publishes, and serves them)
    await pollUntil(async () => (await clinicOn(survivor, clinic))?.settler, 'the survivor settles', 10_000)
    const settled = await pusher.settled((d, st) => d.decidedOps === 3 && qty(st, LOT) === 49, 20_000)
    expect(settled.decidedOps).toBe(3)
    const final = await pollUntil(
      async () => {
        const st = await clinicOn(survivor, clinic)
        return st?.settler && st.opsSettled === 3 ? st : undefined
      },
      `the survivor settled the clinic: ${JSON.stringify(await clinicOn(survivor, clinic))}`,
    )
    expect(final).toMatchObject({ settler: true, opsSettled: 3, opsDecided: 3 })
  })

  it('unloads a clinic nobody uses, and opens it again when a device shows up', async () => {
    const clinic = 'clinic-idle'
    const idle = ['--idle-ms', '1500']
    const [a, b] = [await startInstance(idle), await startInstance(idle)]
    const dev1 = new TestDevice(a.syncUrl, clinic, 'tab-i1')
    devices.push(dev1)
    dev1.createClinic()
    expect((await dev1.register(a)).status).toBe(201)
    dev1.append(
      [
        {
          kind: 'formulary-update',
          item: ITEM,
          name: 'Amoxicillin',
          price: 5,
          status: 'active',
          controlled: false,
        },
      ],
      'admin',
    )
    dev1.append([
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
    ])
    await dev1.settled((d) => d.decidedOps === 2, 15_000)
    await dev1.close() // the clinic's only device leaves

    // both instances let the clinic go: no watcher, no lease held
    await pollUntil(
      async () =>
        !(await clinicOn(a, clinic)) &&
        !(await clinicOn(b, clinic)) &&
        (await leaseOwner(clinic)) === undefined,
      'the idle clinic unloaded everywhere',
      15_000,
    )
    expect(a.stderr.join('\n') + b.stderr.join('\n')).toContain('"event":"clinic-unloaded"')

    // another tablet of the clinic registers at B and dispenses: B opens the clinic again and settles from the checkpoint
    const dev3 = new TestDevice(b.syncUrl, clinic, 'tab-i3')
    devices.push(dev3)
    expect((await dev3.register(b, dev1.directory.url)).status).toBe(200)
    await dev3.joinClinic(dev1.directory.url)
    dev3.append([dispense(1)])
    const doc = await dev3.settled((d, st) => d.decidedOps === 3 && qty(st, LOT) === 99, 20_000)
    expect(doc.decidedOps).toBe(3)
    expect(await clinicOn(b, clinic)).toMatchObject({ settler: true, opsSettled: 3 })
  })
})
