import { availableParallelism, loadavg } from 'node:os'
import * as A from '@automerge/automerge'
import { Repo, type AutomergeUrl, type DocHandle, type PeerId } from '@automerge/automerge-repo'
import { MessageChannelNetworkAdapter } from '@automerge/automerge-repo-network-messagechannel'
import { startCluster } from './mesh-cluster.js'
import { startPeerProcesses, type Board, type HealReport, type PeerProcess } from './peer-processes.js'
import { median, percentile, type BenchRow } from './row.js'

/** A live edit not seen within this is lost: P2 fails instead of waiting forever (it once hung 15 min on a loaded box). */
const SEEN_DEADLINE_MS = 10_000

/** Resolves when `handle` shows value k, with the time it first did; rejects after SEEN_DEADLINE_MS. */
function seen(handle: DocHandle<Board>, k: number): Promise<number> {
  return new Promise((resolve, reject) => {
    if (handle.doc().n >= k) return resolve(performance.now())
    const timer = setTimeout(() => {
      handle.off('change', on)
      reject(new Error(`edit ${k} not seen within ${SEEN_DEADLINE_MS} ms`))
    }, SEEN_DEADLINE_MS)
    function on(): void {
      if (handle.doc().n < k) return
      clearTimeout(timer)
      handle.off('change', on)
      resolve(performance.now())
    }
    handle.on('change', on)
  })
}

/**
 * automerge-repo batches a document's outgoing sync messages at most every 100 ms (DocSynchronizer's
 * syncDebounceRate); edits closer together than that are sent as one batch. Pacing edits just above it measures
 * the network path a clinician's edit takes, not the batching window.
 */
const PACE_MS = 110

/** Per-receiver latency of `edits` sequential edits made by rotating writers, paced at PACE_MS. */
async function measure(handles: DocHandle<Board>[], edits: number): Promise<number[]> {
  const samples: number[] = []
  for (let k = 1; k <= edits; k++) {
    await new Promise((r) => setTimeout(r, PACE_MS))
    const writer = handles[k % handles.length]!
    const others = handles.filter((h) => h !== writer)
    const waits = others.map((h) => seen(h, k))
    const t = performance.now()
    writer.change((d) => {
      d.n = k
    })
    for (const at of await Promise.all(waits)) samples.push(at - t)
  }
  return samples
}

async function find(repo: Repo, h: DocHandle<Board>): Promise<DocHandle<Board>> {
  const handle = await repo.find<Board>(h.url, { allowableStates: ['ready', 'unavailable'] })
  if (handle.state !== 'ready') await handle.whenReady(['ready'])
  return handle
}

/** P2: live edit latency across 8 mesh nodes on loopback; baseline an in-process MessageChannel pair. */
export async function benchLiveEdits(nodes = 8, edits = 200): Promise<BenchRow[]> {
  const { port1, port2 } = new MessageChannel()
  const pa = new Repo({ network: [new MessageChannelNetworkAdapter(port1)], peerId: 'pa' as PeerId })
  const pb = new Repo({ network: [new MessageChannelNetworkAdapter(port2)], peerId: 'pb' as PeerId })
  const ha = pa.create<Board>({ n: 0, by: '', edits: {} })
  const base = await measure([ha, await find(pb, ha)], edits)
  await pa.shutdown()
  await pb.shutdown()

  const cluster = await startCluster(nodes)
  const h0 = cluster.repos[0]!.create<Board>({ n: 0, by: '', edits: {} })
  let ours: number[]
  try {
    const handles = [h0, ...(await Promise.all(cluster.repos.slice(1).map((r) => find(r, h0))))]
    await measure(handles, 20) // warm-up
    ours = await measure(handles, edits)
  } finally {
    await cluster.stop()
  }
  const p50 = percentile(ours, 50)
  const p99 = percentile(ours, 99)
  return [
    {
      metric: `P2 live edit latency p50, ${nodes} mesh nodes`,
      ours: p50,
      baseline: percentile(base, 50),
      unit: 'ms',
      goal: '≤ 10 ms',
      ok: p50 <= 10,
      note: `baseline: in-process MessageChannel pair; edits every ${PACE_MS} ms`,
    },
    {
      metric: `P2 live edit latency p99, ${nodes} mesh nodes`,
      ours: p99,
      baseline: percentile(base, 99),
      unit: 'ms',
      goal: '≤ 50 ms',
      ok: p99 <= 50,
      note: 'one process, 8 libp2p hosts on 2 cores',
    },
  ]
}

/**
 * P3: every node offline makes `perNode` edits; all go online; time until every node holds every edit. One OS
 * process per node (mesh-peer-child.ts), as a clinic's tablets are separate machines; median of `runs` fresh clusters.
 */
export async function benchPartitionHeal(nodes = 8, perNode = 500, runs = 3): Promise<BenchRow[]> {
  const load = loadavg()[0]!.toFixed(1) // before our 8 processes add to it: what else runs on the machine
  const heal: number[] = []
  const base: number[] = []
  const reports: HealReport[] = []
  for (let i = 0; i < runs; i++) {
    const r = await partitionHealOnce(nodes, perNode)
    heal.push(r.healMs)
    base.push(r.baseMs)
    reports.push(...r.reports)
  }
  const healMs = median(heal)
  const runsText = heal.map((ms) => (ms / 1000).toFixed(2)).join(' / ')
  const cpuS = (median(reports.map((r) => r.cpuMs)) / 1000).toFixed(2)
  const firstMs = median(reports.map((r) => r.firstPeerMs)).toFixed(0)
  const note =
    `one process per node (${availableParallelism()} cores, load ${load} before), timed on the coordinator's clock incl. IPC, after a warm-up heal; median of ${runs} (${runsText} s); ` +
    `per node (p50): first peer back ${firstMs} ms, ${cpuS} s CPU to converge; baseline: A.merge of the replicas, no network`
  return [
    {
      metric: `P3 heal: ${nodes} nodes × ${perNode} offline edits converge`,
      ours: healMs / 1000,
      baseline: median(base) / 1000,
      unit: 's',
      goal: '≤ 5 s',
      ok: healMs <= 5000,
      note,
    },
  ]
}

interface HealRun {
  healMs: number
  baseMs: number
  reports: HealReport[]
}

async function partitionHealOnce(nodes: number, perNode: number): Promise<HealRun> {
  const cluster = await startPeerProcesses(nodes)
  try {
    // Untimed warm-up: a tablet's app runs all day, so its JIT and Automerge's WebAssembly are warm when a partition
    // heals. Cold, each process spends about twice the CPU on its first heal (1.1 s against 0.6 s, measured).
    await healCycle(cluster.peers, nodes, perNode)
    return await healCycle(cluster.peers, nodes, perNode)
  } finally {
    await cluster.stop()
  }
}

/** One partition and heal on a fresh document in running peer processes. */
async function healCycle(peers: PeerProcess[], nodes: number, perNode: number): Promise<HealRun> {
  const url = await peers[0]!.call<AutomergeUrl>({ do: 'create' })
  await Promise.all(peers.slice(1).map((p) => p.call({ do: 'find', url })))
  await Promise.all(peers.map((p) => p.call({ do: 'addMap', maps: nodes })))
  await Promise.all(peers.map((p) => p.call({ do: 'offline' })))
  const saved = await Promise.all(peers.map((p) => p.call<Uint8Array>({ do: 'edit', count: perNode })))
  // Baseline: merging the same replicas directly with Automerge, in one process, no network.
  const docs = saved.map((bytes) => A.load<Board>(bytes))
  let t = performance.now()
  let merged = A.clone(docs[0]!)
  for (const d of docs.slice(1)) merged = A.merge(merged, A.clone(d))
  const baseMs = performance.now() - t
  const keys = Object.values(merged.edits).reduce((sum, m) => sum + Object.keys(m).length, 0)
  if (keys !== nodes * perNode)
    throw new Error(`baseline merge holds ${keys} edits, expected ${nodes * perNode}`)
  t = performance.now()
  const arrivals = await Promise.all(
    peers.map((p) =>
      p
        .call<HealReport>({ do: 'heal', maps: nodes, perMap: perNode })
        .then((r) => ({ at: performance.now(), ...r })),
    ),
  )
  return { healMs: Math.max(...arrivals.map((a) => a.at)) - t, baseMs, reports: arrivals }
}
