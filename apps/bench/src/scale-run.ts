import type { BatchId, ItemId, PatientId, PrescriptionId, SettledInventoryDoc } from '@clinic-mesh/contracts'
import type { InventoryState } from '@clinic-mesh/ledger'
import { verifySettledInventory } from '@clinic-mesh/ledger'
import { generateAdminKey } from '@clinic-mesh/mesh'
import { startPostgresCluster } from '@clinic-mesh/testing'
import pg from 'pg'
import { SITE, SimDevice } from './scale-device.js'
import { RelayInstance, type ClinicStatus } from './scale-relay.js'
import { STOCK, checkClinics, lagFigures, type LagFigures } from './scale-stats.js'
import { clusterCpuMs, processCpuMs } from './scale-cpu.js'
import { join } from 'node:path'

/**
 * One scale run: a throwaway PostgreSQL, `instances` relay processes over it, `clinics` × 3 simulated devices (each
 * given every instance's URL, starting at its own), every device writing one dispense per `opIntervalMs` for
 * `steadyS` seconds; with `kill`, the instance holding the most leases is then killed with SIGKILL and the devices
 * write on for `afterS` seconds. Then every operation must come back settled exactly once.
 */
export interface ScaleOptions {
  clinics: number
  instances: number
  opIntervalMs: number
  steadyS: number
  afterS: number
  kill: boolean
  /** 'clinic': a clinic's devices list the same instance first; 'device' (default): each starts at another */
  spread?: 'device' | 'clinic'
  /** clinics set up at once */
  concurrency?: number
  log?: (line: string) => void
}

export interface ScaleResult {
  clinics: number
  instances: number
  setupS: number
  /** lag of the operations settled in the steady window (before any kill) */
  steady: LagFigures
  /** operations settled per second over the steady window, and the rate the devices offered */
  opsPerS: number
  offeredPerS: number
  /** RSS of each instance at the end of the steady window, and its peak, MB */
  rssMb: number[]
  peakRssMb: number[]
  /**
   * CPU (user + system) per operation settled in the steady window, ms: all relay instances together, PostgreSQL,
   * and this process (the simulated devices). What sizes a deployment: cores = ops/s × ms per op / 1000.
   */
  cpuMsPerOp: { relays: number; postgres: number; devices: number }
  kill?: {
    /** the killed instance held this many of the clinics' leases */
    leasesHeld: number
    /** from the kill until every operation settling later does so in < 2 s */
    recoveryMs: number
    maxLagAfterMs: number
    /** devices that moved to another instance */
    devicesMoved: number
  }
  written: number
  settledOnDevices: number
  /** invariant violations (per clinic): lost, settled twice, bad signature, pending at the relay */
  violations: string[]
}

const GUARD_MS = 5000
const SETUP_MS = 120_000
const ITEM = 'amoxicillin-250' as ItemId
const LOT = 'A1' as BatchId

/** every dispense names its own prescription and patient */
let serial = 0
const dispense = (n = ++serial) =>
  ({
    kind: 'dispense',
    item: ITEM,
    batch: LOT,
    quantity: 1,
    patient: `pt_${n}` as PatientId,
    prescription: `rx_${n}` as PrescriptionId,
    prescriptionHash: `h${n}`,
    priceSeen: 5,
    stockSeen: STOCK,
  }) as const

async function setUpClinic(
  i: number,
  urls: string[],
  diagnose: (clinic: string) => Promise<string>,
  spread: 'device' | 'clinic',
): Promise<SimDevice[]> {
  const clinic = `clinic-${String(i).padStart(4, '0')}`
  const admin = generateAdminKey()
  const devices = [0, 1, 2].map((j) => {
    const first = (i + (spread === 'clinic' ? 0 : j)) % urls.length
    const list = failoverOrder([...urls.slice(first), ...urls.slice(0, first)], clinic)
    return new SimDevice(list, clinic, `${clinic}-tab-${j}`, admin)
  })
  const [d0, d1, d2] = devices as [SimDevice, SimDevice, SimDevice]
  d0.createClinic()
  const url = d0.directory.url as string
  const s0 = await d0.register(url)
  // 200: registered by an attempt whose answer timed out on a loaded box (register asks again)
  if (s0 !== 201 && s0 !== 200) throw new Error(`${clinic}: registration answered ${s0}`)
  // the clinic's other devices register at once (each at its first instance)
  await Promise.all(
    [d1, d2].map(async (d) => {
      const s = await d.register(url)
      if (s !== 200) throw new Error(`${d.name}: registration answered ${s}`)
    }),
  )
  try {
    await Promise.all([d1.join(url, 60_000), d2.join(url, 60_000)])
  } catch (err) {
    const here = [d1, d2].map((d) => `${d.name} on ${d.adapter.current} peers ${d.repo.peers.length}`)
    throw new Error(
      `${String(err)}; devices: ${here.join(', ')}; at the instances: ${await diagnose(clinic)}`,
      {
        cause: err,
      },
    )
  }
  d0.append(
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
  d0.append([
    {
      kind: 'receive',
      item: ITEM,
      batch: LOT,
      expiry: '2099-01-31',
      quantity: STOCK,
      unitCost: 2,
      supplier: 'S',
      grn: 'G1',
    },
  ])
  try {
    await Promise.all(devices.map((d) => d.follow(SETUP_MS)))
    await d0.until((d) => d.decidedOps >= 2, SETUP_MS, 'the first two operations settled')
  } catch (err) {
    const here = devices.map(
      (d) =>
        `${d.name} on ${d.adapter.current} socket ${d.adapter.socket?.readyState} peers ${d.repo.peers.length} ` +
        `decided ${d.last?.decidedOps} watermark ${d.watermark}`,
    )
    throw new Error(
      `${String(err)}; devices: ${here.join(', ')}; at the instances: ${await diagnose(clinic)}`,
      {
        cause: err,
      },
    )
  }
  // warm-up: each tablet writes a first dispense (its log document of the period is created, listed and mapped by
  // the relay once; the run measures the steady state after that)
  for (const d of [d1, d2]) d.append([dispense()])
  await Promise.all(
    devices.map((d) => d.until((x) => (x.watermarks[d.name] ?? 0) >= d.written, SETUP_MS, 'warm-up')),
  )
  for (const d of devices) d.settlements.length = 0
  return devices
}

/** The instance whose pid is in the most live lease owners (`host-pid-random`), and how many it holds. */
async function busiest(url: string, relays: RelayInstance[]): Promise<[RelayInstance, number]> {
  const db = new pg.Client({ connectionString: url })
  await db.connect()
  try {
    const { rows } = await db.query<{ owner: string; n: string }>(
      'SELECT owner, count(*) AS n FROM relay_leases WHERE expires_at > clock_timestamp() GROUP BY owner',
    )
    let best: [RelayInstance, number] = [relays[0]!, 0]
    for (const r of relays) {
      const n = rows.filter((x) => x.owner.includes(`-${r.child.pid}-`)).reduce((a, x) => a + Number(x.n), 0)
      if (n > best[1]) best = [r, n]
    }
    return best
  } finally {
    await db.end()
  }
}

export async function runScale(o: ScaleOptions): Promise<ScaleResult> {
  const log = o.log ?? ((l: string) => console.error(l))
  const cluster = await startPostgresCluster()
  const relays: RelayInstance[] = []
  const clinics: SimDevice[][] = []
  const timers: NodeJS.Timeout[] = []
  try {
    for (let k = 0; k < o.instances; k++) relays.push(await RelayInstance.start(cluster.url))
    const urls = relays.map((r) => r.syncUrl)
    const diagnose = async (clinic: string): Promise<string> => {
      const seen = await Promise.all(
        relays.map(async (r) => {
          const st = await r.status().catch((err: unknown) => String(err))
          const c = typeof st === 'string' ? st : st.clinics.find((x) => x.clinic === clinic)
          return `${r.child.pid}: ${JSON.stringify(c ?? 'not open')} ${r.stderrTail.slice(-3).join(' | ')}`
        }),
      )
      return seen.join('; ')
    }
    const t0 = performance.now()
    const conc = o.concurrency ?? 16
    for (let i = 0; i < o.clinics; i += conc) {
      const batch = Array.from({ length: Math.min(conc, o.clinics - i) }, (_, b) =>
        setUpClinic(i + b, urls, diagnose, o.spread ?? 'device'),
      )
      const done = await Promise.allSettled(batch)
      // the clinics set up are closed at the end even when another of the batch failed
      for (const d of done) if (d.status === 'fulfilled') clinics.push(d.value)
      const failed = done.find((d) => d.status === 'rejected')
      if (failed) throw failed.reason
      if ((i / conc) % 5 === 4) log(`  ${clinics.length}/${o.clinics} clinics set up`)
    }
    const setupS = (performance.now() - t0) / 1000
    log(`  ${o.clinics} clinics × 3 devices on ${o.instances} instance(s), set up in ${setupS.toFixed(1)} s`)
    const devices = clinics.flat()

    // open loop: every device writes one dispense per interval, phases spread evenly over the interval
    const pushStart = performance.now()
    devices.forEach((d, idx) => {
      const start = setTimeout(
        () => {
          d.append([dispense()])
          timers.push(setInterval(() => d.append([dispense()]), o.opIntervalMs))
        },
        (idx / devices.length) * o.opIntervalMs,
      )
      timers.push(start)
    })
    // CPU over the same window as the throughput (from the end of the first interval's ramp to the window's end)
    const cpuNow = async (): Promise<{ relays: number; postgres: number; devices: number }> => ({
      relays: (await Promise.all(relays.map((r) => processCpuMs(r.child.pid!)))).reduce((a, x) => a + x, 0),
      postgres: await clusterCpuMs(join(cluster.dir, 'data')),
      devices: ((u) => (u.user + u.system) / 1000)(process.cpuUsage()),
    })
    let cpuAtRamp: Promise<{ relays: number; postgres: number; devices: number }> | undefined
    const rampTimer = setTimeout(() => void (cpuAtRamp = cpuNow()), o.opIntervalMs)
    timers.push(rampTimer)
    await sleep(o.steadyS * 1000)
    const steadyEnd = performance.now()
    const cpuAtEnd = await cpuNow()
    const cpuFrom = (await cpuAtRamp) ?? cpuAtEnd
    const rss = await Promise.all(relays.map((r) => r.rssMb()))

    let kill: ScaleResult['kill']
    let killAt = Infinity
    const movedBefore = devices.map((d) => d.adapter.current)
    if (o.kill) {
      const [victim, leasesHeld] = await busiest(cluster.url, relays)
      await victim.stop('SIGKILL')
      killAt = performance.now()
      log(`  SIGKILL to instance pid ${victim.child.pid} (${leasesHeld} leases)`)
      await sleep(o.afterS * 1000)
      kill = { leasesHeld, recoveryMs: NaN, maxLagAfterMs: NaN, devicesMoved: 0 }
    }
    for (const t of timers.splice(0)) clearInterval(t)
    const pushEnd = performance.now()

    // drain: every operation written must come back settled on the device that wrote it
    const drainTimeout = 120_000
    await Promise.all(
      devices.map((d) =>
        d.until(
          (doc) => (doc.watermarks[d.name] ?? 0) >= d.written,
          drainTimeout,
          `all ${d.written} operations settled`,
        ),
      ),
    ).catch((err: unknown) => log(`  drain: ${String(err)}`))
    log(`  drained ${((performance.now() - pushEnd) / 1000).toFixed(1)} s after the last write`)

    const all = devices.flatMap((d) => d.settlements)
    // steady state: lags of the operations written up to GUARD_MS before the window ends (so a kill right after it
    // does not delay them); throughput: operations settled in the window once the first interval's ramp is over
    const steadyLags = all.filter((s) => s.writtenAt >= pushStart && s.writtenAt < steadyEnd - GUARD_MS)
    const rampEnd = pushStart + o.opIntervalMs
    const settledIn = all.filter((s) => s.writtenAt + s.lagMs >= rampEnd && s.writtenAt + s.lagMs < steadyEnd)
    const steadyWindowS = (steadyEnd - rampEnd) / 1000
    if (kill) {
      const after = all.filter((s) => s.writtenAt + s.lagMs > killAt)
      const slow = after.filter((s) => s.lagMs >= 2000)
      kill.recoveryMs = slow.length ? Math.max(...slow.map((s) => s.writtenAt + s.lagMs)) - killAt : 0
      kill.maxLagAfterMs = after.length ? Math.max(...after.map((s) => s.lagMs)) : NaN
      kill.devicesMoved = devices.filter((d, i) => d.adapter.current !== movedBefore[i]).length
    }

    let relayKey = ''
    const statuses = new Map<string, ClinicStatus>()
    for (const r of relays.filter((x) => !x.exited)) {
      const st = await r.status()
      relayKey = st.relayKey
      for (const c of st.clinics) if (c.settler) statuses.set(c.clinic, c)
    }
    const violations = checkClinics(clinics, statuses, (doc: SettledInventoryDoc, clinic: string) => {
      const ok = verifySettledInventory(JSON.parse(JSON.stringify(doc)) as SettledInventoryDoc, {
        relayKey,
        clinic,
      }).ok
      const state = JSON.parse(doc.state) as InventoryState
      const cells: Record<string, number> = { ...state.stock[SITE] }
      return { signed: ok, stock: cells[LOT] ?? 0 }
    })
    return {
      clinics: o.clinics,
      instances: o.instances,
      setupS,
      steady: lagFigures(steadyLags.map((s) => s.lagMs)),
      opsPerS: settledIn.length / steadyWindowS,
      offeredPerS: (devices.length * 1000) / o.opIntervalMs,
      rssMb: rss.map((r) => r.rss),
      peakRssMb: rss.map((r) => r.peak),
      cpuMsPerOp: {
        relays: (cpuAtEnd.relays - cpuFrom.relays) / settledIn.length,
        postgres: (cpuAtEnd.postgres - cpuFrom.postgres) / settledIn.length,
        devices: (cpuAtEnd.devices - cpuFrom.devices) / settledIn.length,
      },
      ...(kill ? { kill } : {}),
      written: devices.reduce((a, d) => a + d.written, 0),
      settledOnDevices: devices.reduce((a, d) => a + d.watermark, 0),
      violations,
    }
  } finally {
    for (const t of timers) clearInterval(t)
    await Promise.all(clinics.flat().map((d) => d.close().catch(() => undefined)))
    for (const r of relays) await r.finish()
    await cluster.stop()
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/**
 * As the device's relay link orders its URLs (apps/device/src/relay-url.ts `failoverOrder`, not exported by the
 * device app): the first as given, the others rotated by an FNV-1a hash of the clinic id.
 */
function failoverOrder(urls: readonly string[], clinic: string): string[] {
  if (urls.length <= 2) return [...urls]
  let h = 0x811c9dc5
  for (const byte of new TextEncoder().encode(clinic)) h = Math.imul(h ^ byte, 0x01000193) >>> 0
  const rest = urls.slice(1)
  const k = h % rest.length
  return [urls[0]!, ...rest.slice(k), ...rest.slice(0, k)]
}
