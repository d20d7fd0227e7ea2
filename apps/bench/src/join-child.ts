/**
 * The joining tablet of P1 in its own process, so its RSS is its own: a repo with its storage on disk (a temp
 * directory, as a tablet's data dir) that opens the clinic by its root URL over IPC (see ipc-port.ts), waits until
 * every patient is searchable, pulls every chart into storage (releasing each bucket from memory once saved), and
 * reports its RSS then and its peak RSS over the whole join.
 */
import { Repo, type AutomergeUrl, type PeerId } from '@automerge/automerge-repo'
import { MessageChannelNetworkAdapter } from '@automerge/automerge-repo-network-messagechannel'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ChartPull, ClinicStore } from '@clinic-mesh/store'
import type { ChartCollection } from '@clinic-mesh/records'
import { ipcPort, sendBench } from './ipc-port.js'
import { summarizeBucket } from './summarize-bucket.js'

export interface JoinResult {
  searchableMs: number
  allChartsMs: number
  found: number
  local: number
  /** RSS once every chart is local (and counted from storage). */
  rssMb: number
  /** Peak RSS of the process over the whole join (`process.resourceUsage().maxRSS`). */
  peakRssMb: number
  heapMb: number
  /** ms from the start until the charts of today's visits (argv[3]) were local */
  todayMs: number
  /** buckets those charts live in */
  todayBuckets: number
  /** ms from the start until today's queue was known: the today document (mode 'today'), else the index shards */
  queueMs: number
  /** patients the today document named (mode 'today'; else 0) */
  todayNamed: number
}

const rootUrl = process.argv[2] as AutomergeUrl
/**
 * patient ids with a visit open today (comma-separated), and whether to pull their buckets first: `first` once the
 * index shards are local (their open visits), `today` from the clinic's today document, before the shards
 */
const todayIds = (process.argv[3] ?? '').split(',').filter(Boolean)
const mode = process.argv[4]
const todayFirst = mode === 'first' || mode === 'today'
/**
 * Buckets pulled at once: the store's `pullWidth()` (as a device node pulls), or P1_JOIN_CONCURRENCY to experiment.
 * With each bucket released once saved, the peak is what is in flight (10,000 charts, a quiet run: 2 → 352 MB in
 * 12.7 s, 4 → 421 MB, 8 → 525 MB in 10.1 s; a loaded run: 2 → 562–583 MB, 1 → 345–397 MB and sooner).
 */
const CONCURRENCY = process.env['P1_JOIN_CONCURRENCY']
  ? Number(process.env['P1_JOIN_CONCURRENCY'])
  : undefined
const t = performance.now()
const port = ipcPort(process)
const dir = await mkdtemp(join(tmpdir(), 'p1-joiner-'))
const repo = new Repo({
  network: [new MessageChannelNetworkAdapter(port)],
  storage: new NodeFSStorageAdapter(dir),
  // one id per joining process: a repo that saw an earlier joiner finish (root `bootstrapped`) would push this one
  // every shard and bucket at once, as to a peer that holds them all (P13's second round of joins did)
  peerId: `c-${process.pid}` as PeerId,
})
const store = await ClinicStore.open<ChartCollection>(repo, rootUrl, {
  summarize: summarizeBucket,
  todayFirst: mode === 'today',
})
repo.sharePolicy = store.sharePolicy
const queueMs = performance.now() - t
const todayNamed = mode === 'today' ? store.todayPatients().length : 0
const today = [...new Set(todayIds.map((p) => store.bucketIndexOf(p)))]
const pull = new ChartPull(store.layout.chartBuckets.length, today)
const pullStart = performance.now()
if (mode === 'today') await store.pullToday((i) => pull.done(i)) // while the shards load
await store.indexReady
const searchableMs = performance.now() - t
const found = store.index.size
await store.loadAllCharts(CONCURRENCY, {
  release: true,
  ...(todayFirst ? { first: today } : {}),
  onBucket: (i) => pull.done(i),
})
const allChartsMs = performance.now() - t
const m = process.memoryUsage()
const peakRssMb = (process.resourceUsage().maxRSS * 1024) / 1e6
const local = await store.countCharts()
const result: JoinResult = {
  searchableMs,
  allChartsMs,
  found,
  local,
  rssMb: m.rss / 1e6,
  peakRssMb,
  heapMb: m.heapUsed / 1e6,
  todayMs: pullStart - t + (pull.todayMs ?? NaN),
  todayBuckets: today.length,
  queueMs,
  todayNamed,
}
await repo.shutdown()
await rm(dir, { recursive: true, force: true })
await sendBench(process, result)
process.exit(0)
