import * as A from '@automerge/automerge'
import { Repo, type DocHandle, type PeerId } from '@automerge/automerge-repo'
import { MessageChannelNetworkAdapter } from '@automerge/automerge-repo-network-messagechannel'
import { connectedTo, startCluster } from './mesh-cluster.js'
import { percentile, type BenchRow } from './row.js'

interface Board {
  n: number
  by: string
  edits: { [node: string]: { [i: string]: number } }
}

/** Resolves when `handle` shows value k, with the time it first did. */
function seen(handle: DocHandle<Board>, k: number): Promise<number> {
  return new Promise((resolve) => {
    if (handle.doc().n >= k) return resolve(performance.now())
    const on = (): void => {
      if (handle.doc().n >= k) {
        handle.off('change', on)
        resolve(performance.now())
      }
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
  const handles = [h0, ...(await Promise.all(cluster.repos.slice(1).map((r) => find(r, h0))))]
  await measure(handles, 20) // warm-up
  const ours = await measure(handles, edits)
  await cluster.stop()
  const p50 = percentile(ours, 50)
  const p99 = percentile(ours, 99)
  return [
    { metric: `P2 live edit latency p50, ${nodes} mesh nodes`, ours: p50, baseline: percentile(base, 50), unit: 'ms', goal: '≤ 10 ms', ok: p50 <= 10, note: `baseline: in-process MessageChannel pair; edits every ${PACE_MS} ms` },
    { metric: `P2 live edit latency p99, ${nodes} mesh nodes`, ours: p99, baseline: percentile(base, 99), unit: 'ms', goal: '≤ 50 ms', ok: p99 <= 50, note: 'one process, 8 libp2p hosts on 2 cores' },
  ]
}

/** P3: every node offline makes `perNode` edits; all go online; time until every node holds every edit. */
/** P3 as the median of `runs` fresh clusters (heal includes re-discovery by mDNS, which varies run to run). */
export async function benchPartitionHeal(nodes = 8, perNode = 500, runs = 3): Promise<BenchRow[]> {
  const heal: number[] = []
  const base: number[] = []
  for (let i = 0; i < runs; i++) {
    const r = await partitionHealOnce(nodes, perNode)
    heal.push(r.healMs)
    base.push(r.baseMs)
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN
  const healMs = median(heal)
  const note = `median of ${runs} (${heal.map((ms) => (ms / 1000).toFixed(2)).join(' / ')} s); baseline: A.merge of the replicas, no network`
  return [{ metric: `P3 heal: ${nodes} nodes × ${perNode} offline edits converge`, ours: healMs / 1000, baseline: median(base) / 1000, unit: 's', goal: '≤ 5 s', ok: healMs <= 5000, note }]
}

async function partitionHealOnce(nodes: number, perNode: number): Promise<{ healMs: number; baseMs: number }> {
  const cluster = await startCluster(nodes)
  const h0 = cluster.repos[0]!.create<Board>({ n: 0, by: '', edits: {} })
  const handles = [h0, ...(await Promise.all(cluster.repos.slice(1).map((r) => find(r, h0))))]
  handles.forEach((h, i) => h.change((d) => (d.edits[`node${i}`] = {})))
  const complete = (h: DocHandle<Board>): boolean =>
    Object.keys(h.doc().edits).length === nodes && Object.values(h.doc().edits).every((e) => Object.keys(e).length === perNode)
  await Promise.all(handles.map((h) => new Promise<void>((r) => (Object.keys(h.doc().edits).length === nodes ? r() : h.on('change', () => Object.keys(h.doc().edits).length === nodes && r())))))
  await Promise.all(cluster.nodes.map((n) => n.setEnabled(false)))
  const docs = handles.map((h, i) => {
    for (let k = 0; k < perNode; k++) h.change((d) => (d.edits[`node${i}`]![String(k)] = k))
    return h.doc()
  })
  // Baseline: merging the same eight replicas directly with Automerge, no network.
  let t = performance.now()
  let merged = A.clone(docs[0]!)
  for (const d of docs.slice(1)) merged = A.merge(merged, A.clone(d))
  const baseMs = performance.now() - t
  t = performance.now()
  await Promise.all(cluster.nodes.map((n) => n.setEnabled(true)))
  await Promise.all(cluster.nodes.map((n) => connectedTo(n, 1)))
  await Promise.all(handles.map((h) => new Promise<void>((r) => (complete(h) ? r() : h.on('change', () => complete(h) && r())))))
  const healMs = performance.now() - t
  await cluster.stop()
  return { healMs, baseMs }
}
