import * as A from '@automerge/automerge'
import type { ClinicId, DeviceId } from '@clinic-mesh/contracts'
import type { DeviceLogDoc } from '@clinic-mesh/ledger'
import { DeviceLog, appendOperation, newLogDoc, periodOf } from '@clinic-mesh/ledger'
import type { ChartCollection } from '@clinic-mesh/records'
import { emptyCollection, registerPatient } from '@clinic-mesh/records'
import { DeviceNode, Ids, SITE } from './device.js'
import type { Env } from './device.js'
import type { Violation } from './invariants.js'
import { checkInvariants } from './invariants.js'
import { RelayNode } from './relay.js'
import { Replica } from './replica.js'
import { Rng, withSeededIds } from './rng.js'
import type { NetStats } from './world.js'
import { World } from './world.js'

export interface SimOptions {
  /** Tablets besides the relay (default 4). */
  readonly devices?: number
  /** Scheduler steps before the final heal (default 400). */
  readonly steps?: number
  /** Chart buckets (default 2). */
  readonly buckets?: number
  /** Probability a delivered message is lost / duplicated (defaults 0.05 / 0.05). */
  readonly drop?: number
  readonly duplicate?: number
  /** Deliberate bugs, to prove the checker catches them. */
  readonly fault?: 'none' | 'ack-without-persist' | 'diverge-replica'
}

export interface SeedResult {
  readonly seed: number
  readonly ok: boolean
  readonly violations: Violation[]
  /** Final heads of every document and the settled inventory: equal for two runs of one seed. */
  readonly fingerprint: string
  readonly stats: NetStats & {
    ops: number
    conflicts: number
    resolved: number
    acked: number
    lost: number
    rounds: number
  }
}

const START = Date.parse('2026-03-02T06:00:00Z')
const END_OF_DAY = Date.parse('2026-03-03T00:00:00Z')
const GENESIS_ACTOR = 'ffffffffffffffff'
const HOUR = 3_600_000

function genesis(devices: string[], buckets: number): Map<string, Uint8Array> {
  const docs = new Map<string, Uint8Array>()
  const init = <T>(fill: (d: T) => void): Uint8Array =>
    A.save(A.change(A.init<T>({ actor: GENESIS_ACTOR }), { time: START / 1000 }, fill))
  for (let b = 0; b < buckets; b++)
    docs.set(
      `bucket-${b}`,
      init<ChartCollection>((d) => void Object.assign(d, emptyCollection())),
    )
  const clinic = 'clinic-sim' as ClinicId
  for (const dev of devices)
    docs.set(
      `log-${dev}`,
      init<DeviceLogDoc>((d) => void Object.assign(d, newLogDoc(clinic, dev as DeviceId, periodOf(START)))),
    )
  const admin = new DeviceLog({
    device: 'relay' as DeviceId,
    session: { user: 'usr-admin' as never, role: 'admin', site: SITE },
    now: () => START,
  })
  const formulary = RelayNode.genesisOps().map((body, i) => admin.append(body, `op-genesis-${i}` as never))
  docs.set(
    'log-relay',
    init<DeviceLogDoc>((d) => {
      Object.assign(d, newLogDoc(clinic, 'relay' as DeviceId, periodOf(START)))
      for (const op of formulary) appendOperation(d, op)
    }),
  )
  return docs
}

/** One deterministic run of the simulated clinic; `seed` alone decides everything that happens. */
export function runSeed(seed: number, options: SimOptions = {}): SeedResult {
  const rng = new Rng(seed)
  return withSeededIds(rng.fork(), () => simulate(seed, rng, options))
}

function simulate(seed: number, rng: Rng, o: SimOptions): SeedResult {
  const n = o.devices ?? 4
  const buckets = o.buckets ?? 2
  const names = [...Array.from({ length: n }, (_, i) => `dev-${i + 1}`), 'relay']
  const docs = genesis(names, buckets)
  const replicas = names.map((name, i) => new Replica(name, i, docs))
  const world = new World(replicas, rng, { drop: o.drop ?? 0.05, duplicate: o.duplicate ?? 0.05 })
  let time = START
  const env: Env = { world, rng, ids: new Ids(), buckets, time: () => time }
  const devices = replicas.slice(0, n).map((r) => new DeviceNode(env, r, rng.range(-30, 30) * 60_000))
  const relay = new RelayNode(env, replicas[n]!)
  if (o.fault === 'ack-without-persist') for (const r of replicas.slice(0, n)) r.ackWithoutPersist = true
  const restart = (i: number): void => (i === n ? relay.restart() : devices[i]!.restart())
  const guard = (what: string, fn: () => void): void => {
    try {
      fn()
    } catch (err) {
      world.errors.push(`${what}: ${String(err)}`)
    }
  }

  for (let step = 0; step < (o.steps ?? 400); step++) {
    time += rng.range(0, 6000)
    const r = rng.next()
    const i = rng.int(n + 1)
    if (r < 0.3) {
      const d = devices[rng.int(n)]!
      if (d.replica.up) guard(`${d.replica.name} act`, () => d.act())
    } else if (r < 0.5) world.syncTick(i, rng.int(n + 1))
    else if (r < 0.7) for (let k = rng.range(1, 4); k > 0; k--) world.deliverOne()
    else if (r < 0.73) world.flush(i)
    else if (r < 0.755) world.crash(i)
    else if (r < 0.8) {
      const down = replicas.filter((x) => !x.up)
      const x = rng.pick(down)
      if (x) guard(`${x.name} restart`, () => restart(x.index))
    } else if (r < 0.815) world.partition()
    else if (r < 0.83) world.flip(i)
    else if (r < 0.84) {
      const d = devices[rng.int(n)]!
      d.skew = Math.max(-2 * HOUR, Math.min(2 * HOUR, d.skew + rng.range(-60, 60) * 60_000))
    } else if (!relay.replica.up) continue
    else if (r < 0.9) {
      guard('settle', () => relay.settleRound())
      if (rng.chance(0.5)) relay.persist()
    } else if (r < 0.98) guard('review', () => relay.review())
    else if (r < 0.995) guard('review chart', () => relay.reviewChart())
    else guard('price', () => relay.changePrice())
  }

  world.healAll((i) => guard(`restart ${i}`, () => restart(i)))
  if (!world.quiesce(n)) world.errors.push('sync did not quiesce after heal')
  // The reviewer works through the queue once everything has arrived; then the period closes.
  guard('final review', () => {
    relay.settleRound()
    for (let k = relay.engine.conflicts({ status: 'open' }).length; k > 0; k--) relay.review()
  })
  if (!world.quiesce(n)) world.errors.push('sync did not quiesce after the final review')
  guard('close', () => relay.close(END_OF_DAY))
  if (o.fault === 'diverge-replica') {
    const r0 = replicas[0]!
    const actor = {
      user: 'usr-rogue' as never,
      device: r0.name as DeviceId,
      at: new Date(time).toISOString(),
    }
    r0.change<ChartCollection>('bucket-0', time, (d) => {
      registerPatient(
        d,
        { id: 'pt-rogue' as never, given: 'Local', family: 'Only', birthDate: '1990-01-01', sex: 'other' },
        actor,
      )
      return []
    })
  }
  const violations = checkInvariants({ replicas, relay, acked: world.acked, errors: world.errors })
  const conflicts = relay.engine.conflicts()
  return {
    seed,
    ok: violations.length === 0,
    violations,
    fingerprint: `${relay.replica
      .docIds()
      .map((id) => `${id}:${relay.replica.heads(id)}`)
      .join(';')}|${JSON.stringify(relay.engine.inventory())}`,
    stats: {
      ...world.stats,
      ops: relay.engine.size,
      conflicts: conflicts.length,
      resolved: conflicts.filter((c) => c.status === 'resolved').length,
      acked: world.acked.length,
      lost: world.lost.length,
      rounds: relay.rounds,
    },
  }
}
