import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import * as A from '@automerge/automerge'
import { CHUNK_TABLE, Relay } from '@clinic-mesh/relay'
import { startPostgresCluster } from '@clinic-mesh/testing'
import pg from 'pg'
import type { BenchRow } from './row.js'
import { clusterCpuMs } from './scale-cpu.js'
import { settled, writeClinics } from './takeover-fixture.js'

/** What one survivor spent opening the killed instance's clinics as their settler. */
export interface TakeoverFigures {
  clinics: number
  /** from the first open asked to the last clinic's operations published */
  wallMs: number
  /** this process (the survivor; the first instance is stopped by then) */
  cpuMs: number
  /** the PostgreSQL cluster's backends */
  pgCpuMs: number
  /** statements sent to PostgreSQL by the survivor meanwhile (lease renewals and heartbeats included) */
  queries: number
  /** the 1-min load average when it ended */
  load: number
  /**
   * Baseline, same run: the floor of a cold open, every document the survivor opened for those clinics read in one
   * query and loaded with `Automerge.load` (CPU ms of this process, and wall ms), nothing else.
   */
  floorCpuMs: number
  floorWallMs: number
}

export interface TakeoverOptions {
  clinics: number
  /** rounds the first instance settled before it stopped, and each device's dispenses per round */
  rounds?: number
  opsPerRound?: number
  /** each device's dispenses written after the first instance stopped (the survivor settles them) */
  after?: number
  /** each device's logs of past days (before yesterday) already settled: a clinic so many days old (default 0) */
  pastDays?: number
  /** clinics asked to open at once (default: all) */
  width?: number
  /** called between the survivor's start and its takeover (e.g. to start a profiler) */
  around?: (phase: 'start' | 'end', survivor: Relay) => Promise<void> | void
}

/** Statements sent by every pg client of this process (pool queries and transactions alike). */
function countQueries(): { count: () => number; restore: () => void } {
  const proto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown }
  const original = proto.query
  let n = 0
  proto.query = function (this: unknown, ...a: unknown[]) {
    n++
    return original.apply(this, a)
  }
  return { count: () => n, restore: () => void (proto.query = original) }
}

/**
 * A takeover in one process: instance A writes and settles `clinics` clinics (directory, records layout, three
 * devices' logs, `rounds` settlement rounds published and checkpointed), instance B starts beside it (opens nothing:
 * A holds every lease), A stops (its leases freed), the devices write `after` more operations each, and B opens every
 * clinic at once as its settler, as when their devices fail over to it, until each clinic's new operations are
 * published. B never had the clinics open: each open is cold (checkpoint, published documents, directory, records
 * layout and logs read from PostgreSQL).
 */
export async function measureTakeover(opts: TakeoverOptions): Promise<TakeoverFigures> {
  const cluster = await startPostgresCluster()
  const relays: Relay[] = []
  const start = async (): Promise<Relay> => {
    const r = await Relay.start({
      postgres: cluster.url,
      port: 0,
      logger: () => {},
      leaseMs: 2000,
      idleMs: 0,
    })
    relays.push(r)
    return r
  }
  try {
    const a = await start()
    const fixture = await writeClinics(
      a,
      cluster,
      opts.clinics,
      opts.rounds ?? 10,
      opts.opsPerRound ?? 2,
      opts.pastDays ?? 0,
    )
    const b = await start()
    await a.stop()
    relays.shift()
    await fixture.writeMore(opts.after ?? 1)
    await opts.around?.('start', b)
    const queries = countQueries()
    const pg0 = await clusterCpuMs(join(cluster.dir, 'data'))
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    const queue = [...fixture.clinics]
    const width = opts.width ?? queue.length
    await Promise.all(
      Array.from({ length: width }, async () => {
        for (let c = queue.shift(); c; c = queue.shift()) await b.openWatcher(c.clinic, 120_000)
      }),
    )
    await settled(b, fixture.clinics)
    const wallMs = performance.now() - t0
    const cpu = process.cpuUsage(cpu0)
    const pgCpuMs = (await clusterCpuMs(join(cluster.dir, 'data'))) - pg0
    queries.restore()
    await opts.around?.('end', b)
    const floor = await loadFloor(cluster.url, Object.keys(b.repo.handles))
    const settlers = b.watchers().filter((w) => w.settlement.settler).length
    if (settlers !== opts.clinics) throw new Error(`B settles ${settlers} of ${opts.clinics} clinics`)
    return {
      clinics: opts.clinics,
      wallMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      pgCpuMs,
      queries: queries.count(),
      load: loadavg()[0]!,
      floorCpuMs: floor.cpuMs,
      floorWallMs: floor.wallMs,
    }
  } finally {
    for (const r of relays) await r.stop().catch(() => {})
    await cluster.stop()
  }
}

/** Read every chunk of `ids` in one query and `Automerge.load` each document: what a cold open cannot go below. */
async function loadFloor(url: string, ids: string[]): Promise<{ cpuMs: number; wallMs: number }> {
  const pool = new pg.Pool({ connectionString: url, max: 1 })
  try {
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    const { rows } = await pool.query<{ key: string[]; data: Buffer }>(
      `SELECT key, data FROM ${CHUNK_TABLE} WHERE key[1] = ANY($1::text[]) ORDER BY seq`,
      [ids],
    )
    const byDoc = new Map<string, Buffer[]>()
    for (const r of rows)
      if (r.key[1] === 'snapshot' || r.key[1] === 'incremental')
        byDoc.set(r.key[0]!, [...(byDoc.get(r.key[0]!) ?? []), r.data])
    for (const chunks of byDoc.values()) A.load(new Uint8Array(Buffer.concat(chunks)))
    const cpu = process.cpuUsage(cpu0)
    return { cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - t0 }
  } finally {
    await pool.end()
  }
}

/** CM_P18_CPU_PROF=FILE: a V8 CPU profile of just the survivor's takeover (its CPU figure includes the profiler's). */
function profiler(file: string | undefined): TakeoverOptions['around'] {
  if (!file) return undefined
  const session = new Session()
  return async (phase) => {
    if (phase === 'start') {
      session.connect()
      await session.post('Profiler.enable')
      await session.post('Profiler.setSamplingInterval', { interval: 200 })
      await session.post('Profiler.start')
      return
    }
    const { profile } = await session.post('Profiler.stop')
    writeFileSync(file, JSON.stringify(profile))
    session.disconnect()
  }
}

/** P18: clinics a survivor takes over per second, and its CPU per clinic. */
export async function benchTakeover(clinics: number, pastDays = 0): Promise<BenchRow[]> {
  const f = await measureTakeover({ clinics, pastDays, around: profiler(process.env['CM_P18_CPU_PROF']) })
  const note = `${clinics} clinics cold, ${pastDays} past days of logs per device, load ${f.load.toFixed(1)}; PostgreSQL ${(f.pgCpuMs / clinics).toFixed(1)} ms CPU/clinic; baseline: every document read in one query and Automerge.load-ed`
  return [
    {
      metric: 'P18 takeover: clinics opened as settler per second',
      ours: (clinics * 1000) / f.wallMs,
      baseline: (clinics * 1000) / f.floorWallMs,
      unit: 'clinics/s',
      goal: '≥ 17 (170 in < 10 s)',
      ok: (clinics * 1000) / f.wallMs >= 17,
      note,
    },
    {
      metric: 'P18 takeover: survivor CPU per clinic',
      ours: f.cpuMs / clinics,
      baseline: f.floorCpuMs / clinics,
      unit: 'ms',
      goal: 'tens of ms',
      ok: f.cpuMs / clinics < 50,
      note: `${(f.queries / clinics).toFixed(1)} statements/clinic`,
    },
  ]
}
