import { Repo, type AutomergeUrl, type PeerId } from '@automerge/automerge-repo'
import { MessageChannelNetworkAdapter } from '@automerge/automerge-repo-network-messagechannel'
import { ClinicStore, type ClinicStoreInit } from '@clinic-mesh/store'
import { emptyCollection, type ChartCollection } from '@clinic-mesh/records'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { patientAt, writeChart, type FixturePatient } from './fixtures.js'
import { ipcPort } from './ipc-port.js'
import type { JoinResult } from './join-child.js'
import { summarizeBucket } from './summarize-bucket.js'

/** Result of one layout run, in one fresh process (so RSS is this case's alone). */
export interface LayoutResult {
  charts: number
  createMs: number
  searchableMs: number
  allChartsMs: number
  rssMb: number
  found: number
  /** The joining repo alone, in its own process over IPC (ours): its RSS is the tablet's. */
  joiner?: JoinResult
  /** Creation time of each successive 1,000 patients (ours): flat when creation is linear. */
  createLapsMs?: number[]
}

/** Patients per bulk call: the PouchDB baseline writes bulkDocs of 500. */
const IMPORT_BATCH = 500
const LAP = 1000

function connectedPair(): { a: Repo; connectB: () => Repo } {
  const { port1, port2 } = new MessageChannel()
  const a = new Repo({ network: [new MessageChannelNetworkAdapter(port1)], peerId: 'a' as PeerId })
  return {
    a,
    connectB: () => new Repo({ network: [new MessageChannelNetworkAdapter(port2)], peerId: 'b' as PeerId }),
  }
}

/**
 * Ours: root + packed-summary index shards + chart buckets; the index syncs first.
 * A clinic of `n` charts created on `a` by bulk import (500 patients per call); resolves with its store and laps.
 * `size`: its chart buckets as `ClinicStore.create` takes them (default `CM_BUCKETS`, else 64). `extra`: more of the
 * store's options (open visits, today documents) and the write of one chart (default `writeChart`).
 */
export async function createClinic(
  a: Repo,
  n: number,
  size: { chartBuckets?: number; expectedCharts?: number } = {
    chartBuckets: Number(process.env['CM_BUCKETS'] ?? 64),
  },
  extra: {
    store?: Partial<ClinicStoreInit<ChartCollection>>
    write?: (d: ChartCollection, p: FixturePatient) => void
  } = {},
): Promise<{ store: ClinicStore<ChartCollection>; laps: number[] }> {
  const write = extra.write ?? writeChart
  const store = ClinicStore.create<ChartCollection>(a, {
    clinic: 'bench',
    emptyBucket: emptyCollection,
    summarize: summarizeBucket,
    ...extra.store,
    ...size,
    indexShards: Number(process.env['CM_SHARDS'] ?? 16),
  })
  a.sharePolicy = store.sharePolicy
  // A bulk import, as the PouchDB baseline's bulkDocs: 500 patients per call, one change per bucket and per shard
  // (a clinic of many small buckets takes ~10 charts a bucket per call: 500 would cost a change per chart).
  const per = Math.max(IMPORT_BATCH, 10 * store.layout.chartBuckets.length)
  const laps: number[] = []
  let lap = performance.now()
  for (let i = 0; i < n; i += per) {
    const batch = Array.from({ length: Math.min(per, n - i) }, (_, j) => patientAt(i + j))
    await store.changeMany(batch.map((p) => ({ patientId: p.id, fn: (d: ChartCollection) => write(d, p) })))
    if ((i + per) % LAP === 0 || i + per >= n) {
      laps.push(performance.now() - lap)
      lap = performance.now()
    }
  }
  return { store, laps }
}

export async function runOurs(n: number): Promise<LayoutResult> {
  const { a, connectB } = connectedPair()
  let t = performance.now()
  const { store, laps } = await createClinic(a, n)
  const createMs = performance.now() - t
  t = performance.now()
  const b = connectB()
  const storeB = await ClinicStore.open<ChartCollection>(b, store.rootUrl, { summarize: summarizeBucket })
  b.sharePolicy = storeB.sharePolicy
  const searchableMs = performance.now() - t
  const found = storeB.index.size
  await storeB.loadAllCharts()
  const allChartsMs = performance.now() - t
  const local = await storeB.countCharts()
  if (local !== n) throw new Error(`expected ${n} charts local, found ${local}`)
  const rssMb = process.memoryUsage().rss / 1e6
  await b.shutdown()
  const joiner = await joinInChild(a, store.rootUrl, [], 'plain')
  if (joiner.local !== n || joiner.found !== n)
    throw new Error(`joiner process: ${joiner.found} searchable, ${joiner.local} local of ${n}`)
  await a.shutdown()
  return {
    charts: n,
    createMs,
    searchableMs,
    allChartsMs,
    rssMb,
    found,
    createLapsMs: laps,
    joiner,
  }
}

/**
 * Only the tablet's join (issue 17 #2's memory at 50,000 charts): the clinic is created here, and a joining repo in
 * its own process pulls it over IPC; the in-process second repo of `runOurs` (which holds every chart) is left out.
 */
/**
 * The heap V8 gives a tablet: it sizes the old generation to about a quarter of physical memory, so a 1 GB tablet
 * gets ~256 MB (this 24 GB box would give the joiner 4 GB, and garbage would pile up far past what a tablet allows).
 */
export const TABLET_HEAP_MB = 256

export async function runJoinOnly(n: number): Promise<JoinResult & { createMs: number; buckets: number }> {
  const { a } = connectedPair()
  const t = performance.now()
  // made as a clinic expecting `n` charts is (`--expected-charts`: 50,000 → 1,024 buckets of ~49)
  const { store } = await createClinic(a, n, { expectedCharts: n })
  const createMs = performance.now() - t
  const joiner = await joinInChild(a, store.rootUrl, [], 'plain', [`--max-old-space-size=${TABLET_HEAP_MB}`])
  if (joiner.local !== n || joiner.found !== n)
    throw new Error(`joiner process: ${joiner.found} searchable, ${joiner.local} local of ${n}`)
  await a.shutdown()
  return { ...joiner, createMs, buckets: store.layout.chartBuckets.length }
}

/**
 * A third repo joins the clinic of `a` from its own process (join-child.ts), over IPC; `today`: patients whose
 * charts it reports local apart (`todayMs`), their buckets pulled first with `order` 'first' (known from the index
 * shards) or 'today' (from the clinic's today document, before the shards).
 */
export function joinInChild(
  a: Repo,
  rootUrl: AutomergeUrl,
  today: string[],
  order: 'today' | 'first' | 'plain',
  nodeArgs: string[] = [],
  sync: 'fresh' | 'stock' = 'fresh',
  todayOnly = false,
): Promise<JoinResult> {
  const file = fileURLToPath(new URL('./join-child.js', import.meta.url))
  const args = [file, rootUrl, today.join(','), order, sync, ...(todayOnly ? ['today-only'] : [])]
  const child = spawn(process.execPath, [...nodeArgs, ...args], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    serialization: 'advanced',
  })
  let err = ''
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()))
  return new Promise((resolve, reject) => {
    let result: JoinResult | undefined
    const port = ipcPort(child, (m) => (result = m as JoinResult))
    a.networkSubsystem.addNetworkAdapter(new MessageChannelNetworkAdapter(port))
    child.on('exit', (code) =>
      result && code === 0 ? resolve(result) : reject(new Error(`joiner exited ${code}: ${err.slice(-400)}`)),
    )
  })
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
