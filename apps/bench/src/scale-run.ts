import { startPostgresCluster } from '@clinic-mesh/testing'
import pg from 'pg'
import { join } from 'node:path'
import { epochMs } from './scale-device.js'
import { Generator, GeneratorError, defaultGenerators, ranges, type GenReport } from './scale-gen.js'
import { RelayInstance, type ClinicStatus } from './scale-relay.js'
import { lagFigures, type LagFigures } from './scale-stats.js'
import { clusterCpuMs, processCpuMs } from './scale-cpu.js'

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
  /** the simulated devices keep their documents, so the relay keeps a sync state per device and document (default false) */
  deviceStorage?: boolean
  /** clinics set up at once, all generators together (default 16) */
  concurrency?: number
  /** generator processes, each setting up and driving a contiguous range of the clinics (default: ≤ 150 each) */
  generators?: number
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
   * and the generator processes (the simulated devices) together. What sizes a deployment: cores = ops/s × ms per op / 1000.
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
  /** the first device whose operations were not all settled within the drain's time, if any */
  drainError?: string
  generators: number
}

/** A clinic's set-up failed: the run has no figures (`clinic`, and how many were set up before). */
export class ScaleSetupError extends Error {
  override readonly name = 'ScaleSetupError'
  constructor(
    readonly clinic: string | undefined,
    readonly setUp: number,
    message: string,
  ) {
    super(message)
  }
}

const GUARD_MS = 5000
const DRAIN_MS = 120_000

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
  const gens: Generator[] = []
  let rampTimer: NodeJS.Timeout | undefined
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

    // set-up: each generator its range, the concurrency split between them (a single instance must not be swamped)
    const parts = ranges(o.clinics, o.generators ?? defaultGenerators(o.clinics))
    const concurrency = Math.max(1, Math.floor((o.concurrency ?? 16) / parts.length))
    let setUp = 0
    const t0 = performance.now()
    const progress = (): void => {
      if (++setUp % 50 === 0)
        log(`  ${setUp}/${o.clinics} clinics set up (${((performance.now() - t0) / 1000).toFixed(0)} s)`)
    }
    for (const _ of parts) gens.push(new Generator(progress))
    log(`  ${parts.length} generator process(es), ${concurrency} clinic(s) each set up at once`)
    try {
      await Promise.all(
        gens.map((g, x) =>
          g.call({
            do: 'setup',
            urls,
            first: parts[x]![0],
            count: parts[x]![1],
            spread: o.spread ?? 'device',
            concurrency,
            storage: o.deviceStorage ?? false,
          }),
        ),
      )
    } catch (err) {
      const clinic = err instanceof GeneratorError ? err.clinic : undefined
      const at = clinic ? `; at the instances: ${await diagnose(clinic)}` : ''
      const s = ((performance.now() - t0) / 1000).toFixed(0)
      const e = new ScaleSetupError(
        clinic,
        setUp,
        `set-up failed at ${clinic ?? 'a generator'} after ${setUp} of ${o.clinics} clinics (${s} s): ${err instanceof Error ? err.message : String(err)}${at}`,
      )
      log(`  ${e.message}`) // in full: the rows' notes are cut short
      throw e
    }
    const setupS = (performance.now() - t0) / 1000
    log(
      `  ${o.clinics} clinics × 3 devices on ${o.instances} instance(s), set up in ${setupS.toFixed(1)} s ` +
        `(${((setupS * 1000) / o.clinics).toFixed(0)} ms per clinic)`,
    )

    // open loop: every device writes one dispense per interval, phases spread evenly over the interval and over all
    // the generators' devices, from a start time every generator is given (epoch ms)
    const pushStart = epochMs() + 500
    await Promise.all(
      gens.map((g) =>
        g.call({ do: 'push', startAt: pushStart, intervalMs: o.opIntervalMs, totalDevices: o.clinics * 3 }),
      ),
    )
    // CPU over the same window as the throughput (from the end of the first interval's ramp to the window's end)
    const cpuNow = async (): Promise<{ relays: number; postgres: number; devices: number }> => {
      const sum = async (pids: (number | undefined)[]): Promise<number> =>
        (await Promise.all(pids.map((p) => processCpuMs(p!)))).reduce((a, x) => a + x, 0)
      return {
        relays: await sum(relays.map((r) => r.child.pid)),
        postgres: await clusterCpuMs(join(cluster.dir, 'data')),
        devices: await sum(gens.map((g) => g.child.pid)),
      }
    }
    let cpuAtRamp: Promise<{ relays: number; postgres: number; devices: number }> | undefined
    const rampEnd = pushStart + o.opIntervalMs
    rampTimer = setTimeout(() => void (cpuAtRamp = cpuNow()), rampEnd - epochMs())
    await sleep(pushStart + o.steadyS * 1000 - epochMs())
    const steadyEnd = epochMs()
    const cpuAtEnd = await cpuNow()
    const cpuFrom = (await cpuAtRamp) ?? cpuAtEnd
    const rss = await Promise.all(relays.map((r) => r.rssMb()))

    let kill: ScaleResult['kill']
    let killAt = Infinity
    await Promise.all(gens.map((g) => g.call({ do: 'mark' })))
    if (o.kill) {
      const [victim, leasesHeld] = await busiest(cluster.url, relays)
      await victim.stop('SIGKILL')
      killAt = epochMs()
      // the monotonic clock (µs) is the one V8's CPU profiles use: a survivor's profile can be read from the kill on
      log(
        `  SIGKILL to instance pid ${victim.child.pid} (${leasesHeld} leases) at monotonic ${process.hrtime.bigint() / 1000n} µs`,
      )
      await sleep(o.afterS * 1000)
      kill = { leasesHeld, recoveryMs: NaN, maxLagAfterMs: NaN, devicesMoved: 0 }
    }
    await Promise.all(gens.map((g) => g.call({ do: 'halt' })))
    const pushEnd = epochMs()

    // drain: every operation written must come back settled on the device that wrote it
    const drained = await Promise.all(
      gens.map((g) => g.call<string | null>({ do: 'drain', timeoutMs: DRAIN_MS })),
    )
    const drainError = drained.find((x) => x !== null) ?? undefined
    if (drainError) log(`  drain: ${drainError}`)
    log(`  drained ${((epochMs() - pushEnd) / 1000).toFixed(1)} s after the last write`)

    let relayKey = ''
    const settlers: ClinicStatus[] = []
    for (const r of relays.filter((x) => !x.exited)) {
      const st = await r.status(180_000)
      relayKey = st.relayKey
      for (const c of st.clinics) if (c.settler) settlers.push(c)
    }
    const reports = await Promise.all(
      gens.map((g) => g.call<GenReport>({ do: 'report', relayKey, settlers })),
    )
    const all = reports.flatMap((r) => r.settlements)
    // steady state: lags of the operations written up to GUARD_MS before the window ends (so a kill right after it
    // does not delay them); throughput: operations settled in the window once the first interval's ramp is over
    const steadyLags = all.filter((s) => s.writtenAt >= pushStart && s.writtenAt < steadyEnd - GUARD_MS)
    const settledIn = all.filter((s) => s.writtenAt + s.lagMs >= rampEnd && s.writtenAt + s.lagMs < steadyEnd)
    const steadyWindowS = (steadyEnd - rampEnd) / 1000
    if (kill) {
      const after = all.filter((s) => s.writtenAt + s.lagMs > killAt)
      const slow = after.filter((s) => s.lagMs >= 2000)
      kill.recoveryMs = slow.length ? Math.max(...slow.map((s) => s.writtenAt + s.lagMs)) - killAt : 0
      kill.maxLagAfterMs = after.length ? Math.max(...after.map((s) => s.lagMs)) : NaN
      kill.devicesMoved = reports.reduce((a, r) => a + r.moved, 0)
    }
    const perOp = (k: 'relays' | 'postgres' | 'devices'): number =>
      (cpuAtEnd[k] - cpuFrom[k]) / settledIn.length
    return {
      clinics: o.clinics,
      instances: o.instances,
      setupS,
      steady: lagFigures(steadyLags.map((s) => s.lagMs)),
      opsPerS: settledIn.length / steadyWindowS,
      offeredPerS: (o.clinics * 3 * 1000) / o.opIntervalMs,
      rssMb: rss.map((r) => r.rss),
      peakRssMb: rss.map((r) => r.peak),
      cpuMsPerOp: { relays: perOp('relays'), postgres: perOp('postgres'), devices: perOp('devices') },
      ...(kill ? { kill } : {}),
      written: reports.reduce((a, r) => a + r.written, 0),
      settledOnDevices: reports.reduce((a, r) => a + r.settledOnDevices, 0),
      violations: reports.flatMap((r) => r.violations),
      ...(drainError ? { drainError } : {}),
      generators: gens.length,
    }
  } finally {
    clearTimeout(rampTimer)
    await Promise.all(gens.map((g) => g.stop()))
    for (const r of relays) await r.finish()
    await cluster.stop()
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)))
}
