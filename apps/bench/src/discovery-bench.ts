/**
 * P10: two tablets of one clinic, started at once as separate processes, until each has its first sync session:
 * on a LAN with no router (a bridge, static 10.x addresses, no default route; one network namespace per tablet)
 * beside the same two processes on this host's loopback. mDNS finds them in both; median of RUNS runs each,
 * alternated so both see the same load.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { NetnsLab } from '@clinic-mesh/testing/netns'
import type { DiscoveryEvent, DiscoveryInit } from './discovery-child.js'
import { clinicKeys } from './mesh-cluster.js'
import { median, type BenchRow } from './row.js'

const RUNS = 5
/** the mDNS query interval, as the no-router tests run it */
const INTERVAL_MS = 250
/** a pair not synced within this is a failed run */
const DEADLINE_MS = 20_000

/** One run: ms from process start until both tablets had a sync session, and from the later "listening". */
interface Run {
  fromStart: number
  fromListening: number
  foundBy: string[]
}

interface Tablet {
  child: ChildProcess
  listening: Promise<Extract<DiscoveryEvent, { event: 'listening' }>>
  synced: Promise<Extract<DiscoveryEvent, { event: 'synced' }>>
}

function startTablet(init: DiscoveryInit, prefix: string[]): Tablet {
  const file = fileURLToPath(new URL('./discovery-child.js', import.meta.url))
  const [cmd, ...args] = [...prefix, process.execPath, file]
  const child = spawn(cmd, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, CM_DISCOVERY_INIT: JSON.stringify(init) },
  })
  let err = ''
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)))
  const waiters = new Map<string, { resolve: (e: DiscoveryEvent) => void; reject: (e: Error) => void }>()
  const wait = <E extends DiscoveryEvent['event']>(event: E) =>
    new Promise<Extract<DiscoveryEvent, { event: E }>>((resolve, reject) =>
      waiters.set(event, { resolve: resolve as (e: DiscoveryEvent) => void, reject }),
    )
  const listening = wait('listening')
  const synced = wait('synced')
  const failAll = (why: string): void => {
    for (const w of waiters.values()) w.reject(new Error(`tablet-${init.index}: ${why}`))
    waiters.clear()
  }
  createInterface({ input: child.stdout }).on('line', (line) => {
    let e: DiscoveryEvent
    try {
      e = JSON.parse(line) as DiscoveryEvent
    } catch {
      return // not ours (a library writing to stdout)
    }
    if (e.event === 'error') return failAll(e.message)
    waiters.get(e.event)?.resolve(e)
    waiters.delete(e.event)
  })
  child.on('error', (e) => failAll(e.message))
  child.on('exit', (code, signal) => failAll(`exited ${code ?? signal}: ${err.slice(-400)}`))
  // a rejection nobody awaits yet (synced while listening is awaited) must not end the bench
  listening.catch(() => undefined)
  synced.catch(() => undefined)
  return { child, listening, synced }
}

function stopTablet(t: Tablet): Promise<void> {
  if (t.child.exitCode !== null || t.child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const kill = setTimeout(() => t.child.kill('SIGKILL'), 5000)
    t.child.once('exit', () => (clearTimeout(kill), resolve()))
    t.child.kill('SIGTERM')
  })
}

function deadline<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${DEADLINE_MS} ms`)), DEADLINE_MS)
  })
  return Promise.race([p, late]).finally(() => clearTimeout(timer))
}

/** A pair of fresh tablets (new keys, own service tag), each started under its prefix, listening on `listen`. */
async function runPair(where: { prefix: string[]; listen: string }[]): Promise<Run> {
  const clinic = await clinicKeys(2)
  const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64')
  const serviceTag = `clinic-mesh-bench-${randomBytes(4).toString('hex')}`
  const tablets = where.map((w, index) =>
    startTablet(
      {
        index,
        key: b64(privateKeyToProtobuf(clinic.keys[index]!)),
        adminPublicKey: b64(clinic.adminPublicKey),
        clinicSecret: b64(clinic.clinicSecret),
        enrolments: clinic.enrolments,
        listen: w.listen,
        serviceTag,
        intervalMs: INTERVAL_MS,
      },
      w.prefix,
    ),
  )
  try {
    const [listening, synced] = await deadline(
      Promise.all([Promise.all(tablets.map((t) => t.listening)), Promise.all(tablets.map((t) => t.synced))]),
      'two tablets synced',
    )
    return {
      fromStart: Math.max(...synced.map((s) => s.ms)),
      fromListening: Math.max(...synced.map((s) => s.at)) - Math.max(...listening.map((l) => l.at)),
      foundBy: synced.map((s) => s.foundBy),
    }
  } finally {
    await Promise.all(tablets.map(stopTablet))
  }
}

const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join('/')

export async function benchDiscovery(): Promise<BenchRow[]> {
  const goal = `median of ${RUNS}, mDNS every ${INTERVAL_MS} ms`
  let lab: NetnsLab
  try {
    lab = await NetnsLab.create('the P10 bench')
  } catch (err) {
    const why = (err instanceof Error ? err.message : String(err)).slice(0, 200)
    return [
      {
        metric: 'P10 first synced peer, no-router LAN',
        ours: NaN,
        baseline: null,
        unit: 'ms',
        goal,
        ok: false,
        note: `not measured: ${why}`,
      },
    ]
  }
  try {
    const lan = await lab.lan('lan')
    const [a, b] = [await lab.namespace('t0'), await lab.namespace('t1')]
    await lab.plug(a, lan, 'eth0', '10.91.0.1/24')
    await lab.plug(b, lan, 'eth0', '10.91.0.2/24')
    const routes = (await lab.routes(a)) + (await lab.routes(b))
    if (/^default/m.test(routes)) throw new Error('a tablet namespace has a default route')
    const lanWhere = [a, b].map((ns) => ({ prefix: lab.exec(ns), listen: '/ip4/0.0.0.0/tcp/0' }))
    const loopWhere = [0, 1].map(() => ({ prefix: [], listen: '/ip4/127.0.0.1/tcp/0' }))
    const onLan: Run[] = []
    const onLoop: Run[] = []
    for (let i = 0; i < RUNS; i++) {
      onLan.push(await runPair(lanWhere))
      onLoop.push(await runPair(loopWhere))
    }
    const found = (runs: Run[]): string => [...new Set(runs.flatMap((r) => r.foundBy))].join('+')
    return [
      {
        metric: 'P10 start → first synced peer (both), no-router LAN vs loopback',
        ours: median(onLan.map((r) => r.fromStart)),
        baseline: median(onLoop.map((r) => r.fromStart)),
        unit: 'ms',
        goal,
        ok: true,
        note: `LAN ${fmt(onLan.map((r) => r.fromStart))}; loopback ${fmt(onLoop.map((r) => r.fromStart))}; found by ${found(onLan)} / ${found(onLoop)}`,
      },
      {
        metric: 'P10 later "listening" → first synced peer (both), no-router LAN vs loopback',
        ours: median(onLan.map((r) => r.fromListening)),
        baseline: median(onLoop.map((r) => r.fromListening)),
        unit: 'ms',
        goal,
        ok: true,
        note: `LAN ${fmt(onLan.map((r) => r.fromListening))}; loopback ${fmt(onLoop.map((r) => r.fromListening))}`,
      },
    ]
  } finally {
    await lab.destroy()
  }
}
