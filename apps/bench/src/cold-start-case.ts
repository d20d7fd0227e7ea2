import { Repo, type AutomergeUrl, type PeerId } from '@automerge/automerge-repo'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import {
  emptyCollection,
  encodeOpenVisits,
  imm,
  openEncounter,
  openVisitsOf,
  queueOf,
  summarize as summarizeChart,
  type ChartCollection,
  type Encounter,
} from '@clinic-mesh/records'
import type { DeviceId, UserId } from '@clinic-mesh/contracts'
import { ClinicStore, fastLoadCount, type PatientSummary } from '@clinic-mesh/store'
import { patientAt, writeChart } from './fixtures.js'

/** today: the device's former start (every bucket loaded, 8 at a time, automerge-repo's own load) and the queue
 * computed over every chart; lazy: the device node now (no bucket opened, search and queue from the saved copy of the
 * index shards while they load, fast load on); lazy-nocache: the same without a saved copy (the first start after the
 * upgrade); eager-fast: today's path with the fast load alone (what the load hook buys when every bucket is wanted). */
export type ColdStartMode = 'today' | 'lazy' | 'lazy-nocache' | 'eager-fast'
export const COLD_START_MODES: readonly ColdStartMode[] = ['today', 'lazy', 'lazy-nocache', 'eager-fast']

export interface ColdStartResult {
  mode: ColdStartMode
  charts: number
  /** from the repo's creation ("listening": the device node listens before it opens the clinic) */
  searchMs: number
  queueMs: number
  queueLength: number
  /** the end of the last 100 ms with more than 20 ms of CPU, once 3 s passed without one */
  quietMs: number
  cpuMs: number
  rssMb: number
  peakRssMb: number
  bucketsHeld: number
  fastLoads: number
  /** eager modes: every bucket in memory */
  allChartsMs: number | null
}

const DEVICE = 'dev_bench' as PeerId
const NURSE = { user: 'usr_nurse' as UserId, device: 'dev_tablet1' as DeviceId }
const summarize = (b: ChartCollection, id: string): PatientSummary | undefined => {
  const c = b.charts[id]
  return c ? summarizeChart(c) : undefined
}
const openVisits = (b: ChartCollection, id: string): string | undefined => {
  const c = b.charts[id]
  return c ? encodeOpenVisits(openVisitsOf(c)) : undefined
}

/**
 * A clinic of `n` charts on disk as a device node keeps it (NodeFS, the device's peer id, bootstrapped): P1's charts,
 * their visits closed, and `today` patients with a visit opened today. Resolves with the root URL.
 */
export async function makeColdStartClinic(dir: string, n: number, today: number): Promise<AutomergeUrl> {
  const repo = new Repo({ storage: new NodeFSStorageAdapter(dir), network: [], peerId: DEVICE })
  const store = ClinicStore.create<ChartCollection>(repo, {
    clinic: 'bench',
    emptyBucket: emptyCollection,
    summarize,
    openVisits,
    ...(process.env['CM_BUCKETS'] ? { chartBuckets: Number(process.env['CM_BUCKETS']) } : {}),
  })
  for (let start = 0; start < n; start += 500) {
    const batch = Array.from({ length: Math.min(500, n - start) }, (_, k) => patientAt(start + k))
    await store.changeMany(
      batch.map((p, k) => ({
        patientId: p.id,
        fn: (d: ChartCollection) => {
          writeChart(d, p)
          const chart = d.charts[p.id]!
          for (const enc of Object.values<Encounter>(chart.encounters)) enc.status = imm('closed')
          if (start + k < today) openEncounter(chart, { reason: 'cough' }, NURSE)
        },
      })),
    )
  }
  await store.saveIndexCache() // as a device node does at every sweep and at stop
  await repo.flush()
  await repo.shutdown()
  return store.rootUrl
}

/** Opens the clinic at `dir` as a restarting device node would, in `mode`, and measures it (one fresh process). */
export async function coldStart(
  dir: string,
  root: AutomergeUrl,
  mode: ColdStartMode,
): Promise<ColdStartResult> {
  const cpu0 = process.cpuUsage()
  let peak = 0
  const sampler = cpuSampler(() => (peak = Math.max(peak, process.memoryUsage.rss())))
  const t0 = performance.now()
  const repo = new Repo({ storage: new NodeFSStorageAdapter(dir), network: [], peerId: DEVICE })
  const store = await ClinicStore.open<ChartCollection>(repo, root, {
    summarize,
    openVisits,
    fastLoad: mode !== 'today',
    indexCache: mode === 'lazy',
  })
  if (store.search('banda').length === 0) throw new Error('search found nobody')
  const searchMs = performance.now() - t0
  let queueLength: number
  let allChartsMs: number | null = null
  const now = new Date()
  if (mode === 'lazy' || mode === 'lazy-nocache') {
    const names = (pid: string): string => store.index.get(pid)?.family ?? ''
    queueLength = queueOf(store.openVisits, names, now).length
  } else {
    await store.loadAllCharts() // the device node's start before issue 17
    allChartsMs = performance.now() - t0
    queueLength = 0 // the queue as the web app computed it: every open visit of every chart held
    for (const url of store.layout.chartBuckets) {
      const charts = (await repo.find<ChartCollection>(url)).doc().charts
      for (const c of Object.values(charts))
        queueLength += openVisitsOf(c).filter(
          (v) => new Date(v.arrivedAt).toDateString() === now.toDateString(),
        ).length
    }
  }
  const queueMs = performance.now() - t0
  await store.indexReady // the shards behind the saved copy (part of the CPU-quiet figure)
  const quietAt = await sampler.quiet()
  const cpu = process.cpuUsage(cpu0)
  const result: ColdStartResult = {
    mode,
    charts: store.index.size,
    searchMs,
    queueMs,
    queueLength,
    quietMs: quietAt - t0,
    cpuMs: (cpu.user + cpu.system) / 1000,
    rssMb: process.memoryUsage.rss() / 1e6,
    peakRssMb: Math.max(peak, process.memoryUsage.rss()) / 1e6,
    bucketsHeld: store.loadedBuckets,
    fastLoads: fastLoadCount(),
    allChartsMs,
  }
  await repo.shutdown()
  return result
}

/** Samples CPU every 100 ms; `quiet()` resolves with when the last busy sample ended, once 3 s were quiet. */
function cpuSampler(each: () => void): { quiet: () => Promise<number> } {
  let last = process.cpuUsage()
  let lastBusy = performance.now()
  let resolveQuiet: ((t: number) => void) | undefined
  const timer = setInterval(() => {
    each()
    const d = process.cpuUsage(last)
    last = process.cpuUsage()
    const now = performance.now()
    if ((d.user + d.system) / 1000 > 20) lastBusy = now
    else if (resolveQuiet && now - lastBusy >= 3_000) {
      clearInterval(timer)
      resolveQuiet(lastBusy)
    }
  }, 100)
  return { quiet: () => new Promise((resolve) => (resolveQuiet = resolve)) }
}
