import { Repo, type AutomergeUrl, type PeerId } from '@automerge/automerge-repo'
import { MessageChannelNetworkAdapter } from '@automerge/automerge-repo-network-messagechannel'
import { ClinicStore, type PatientSummary } from '@clinic-mesh/store'
import { emptyCollection, summarize as summarizeChart, type ChartCollection } from '@clinic-mesh/records'
import { patientAt, writeChart } from './fixtures.js'

/** Result of one layout run, in one fresh process (so RSS is this case's alone). */
export interface LayoutResult {
  charts: number
  createMs: number
  searchableMs: number
  allChartsMs: number
  rssMb: number
  found: number
}

function summarize(b: ChartCollection, id: string): PatientSummary | undefined {
  const c = b.charts[id]
  return c ? summarizeChart(c) : undefined
}

function connectedPair(): { a: Repo; connectB: () => Repo } {
  const { port1, port2 } = new MessageChannel()
  const a = new Repo({ network: [new MessageChannelNetworkAdapter(port1)], peerId: 'a' as PeerId })
  return { a, connectB: () => new Repo({ network: [new MessageChannelNetworkAdapter(port2)], peerId: 'b' as PeerId }) }
}

/** Ours: root + packed-summary index shards + chart buckets; the index syncs first. */
export async function runOurs(n: number): Promise<LayoutResult> {
  const { a, connectB } = connectedPair()
  let t = performance.now()
  const store = ClinicStore.create<ChartCollection>(a, {
    clinic: 'bench',
    emptyBucket: emptyCollection,
    summarize,
    chartBuckets: Number(process.env['CM_BUCKETS'] ?? 64),
    indexShards: Number(process.env['CM_SHARDS'] ?? 16),
  })
  a.sharePolicy = store.sharePolicy
  for (let i = 0; i < n; i++) {
    const p = patientAt(i)
    await store.change(p.id, (d) => writeChart(d, p))
  }
  const createMs = performance.now() - t
  t = performance.now()
  const b = connectB()
  const storeB = await ClinicStore.open<ChartCollection>(b, store.rootUrl, { summarize })
  b.sharePolicy = storeB.sharePolicy
  const searchableMs = performance.now() - t
  const found = storeB.index.size
  await storeB.loadAllCharts()
  const allChartsMs = performance.now() - t
  const local = await storeB.countCharts()
  if (local !== n) throw new Error(`expected ${n} charts local, found ${local}`)
  const rssMb = process.memoryUsage().rss / 1e6
  await a.shutdown()
  await b.shutdown()
  return { charts: n, createMs, searchableMs, allChartsMs, rssMb, found }
}

/** Baseline: stock automerge-repo, one document per chart, the list of URLs handed over in-process. */
export async function runPerDoc(n: number): Promise<LayoutResult> {
  const { a, connectB } = connectedPair()
  let t = performance.now()
  const urls: AutomergeUrl[] = []
  for (let i = 0; i < n; i++) {
    const h = a.create<ChartCollection>(emptyCollection())
    h.change((d) => writeChart(d, patientAt(i)))
    urls.push(h.url)
  }
  const createMs = performance.now() - t
  t = performance.now()
  const b = connectB()
  const handles = await Promise.all(urls.map((u) => b.find(u)))
  const allChartsMs = performance.now() - t
  const rssMb = process.memoryUsage().rss / 1e6
  const found = handles.filter((h) => h.doc() !== undefined).length
  await a.shutdown()
  await b.shutdown()
  // One document per chart: a chart is searchable only once its document is local.
  return { charts: n, createMs, searchableMs: allChartsMs, allChartsMs, rssMb, found }
}
