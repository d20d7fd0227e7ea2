import { ImmutableString } from '@automerge/automerge'
import { Repo, type AutomergeUrl, type PeerId } from '@automerge/automerge-repo'
import { MessageChannelNetworkAdapter } from '@automerge/automerge-repo-network-messagechannel'
import {
  chartArchivePolicy,
  emptyCollection,
  type ArchivedVisit,
  type ChartCollection,
} from '@clinic-mesh/records'
import { ARCHIVE_SHARDS, ClinicStore, archiveClosedVisits, shardOf } from '@clinic-mesh/store'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { patientAt } from './fixtures.js'
import { HISTORY_YEARS, VISITS_PER_YEAR, writeHistoryChart } from './history-fixtures.js'
import type { HistoryJoin } from './history-join-child.js'
import { ipcPort } from './ipc-port.js'
import { summarizeBucket } from './summarize-bucket.js'

/** P16 (issue 17 #3) in one fresh process: one clinic of `n` charts with five years of closed visits, joined four ways. */
export interface HistoryResult {
  charts: number
  visits: number
  /** visits the archiving pass moved, and how long it took */
  archived: number
  archiveMs: number
  /** today's layout: every visit in the chart buckets, a full join */
  beforeArchiving: HistoryJoin
  /** the same clinic after the archiving pass (the visits' bytes stay in the buckets' history): full and 1-year joins */
  archivedFull: HistoryJoin
  archivedWindow: HistoryJoin
  /** a clinic whose past years went straight into the archive (never in a bucket's history): full and 1-year joins */
  importedFull: HistoryJoin
  importedWindow: HistoryJoin
}

const BATCH = 250

function newClinic(a: Repo): ClinicStore<ChartCollection> {
  const store = ClinicStore.create<ChartCollection>(a, {
    clinic: 'bench-history',
    emptyBucket: emptyCollection,
    summarize: summarizeBucket,
  })
  a.sharePolicy = store.sharePolicy
  return store
}

export async function runHistory(n: number): Promise<HistoryResult> {
  const thisYear = new Date().getUTCFullYear()
  const a = new Repo({ network: [], peerId: 'a' as PeerId })
  const live = newClinic(a)
  for (let i = 0; i < n; i += BATCH) {
    const ids = Array.from({ length: Math.min(BATCH, n - i) }, (_, j) => i + j)
    await live.changeMany(
      ids.map((k) => ({
        patientId: patientAt(k).id,
        fn: (d: ChartCollection) => writeHistoryChart(d, patientAt(k), k, thisYear),
      })),
    )
  }
  const beforeArchiving = await join(a, live.rootUrl, 'all')
  const t = performance.now()
  const report = await archiveClosedVisits(live, chartArchivePolicy({ now: new Date(), minAgeDays: 30 }), a)
  const archiveMs = performance.now() - t
  await live.archives.pullWindow()
  const archivedFull = await join(a, live.rootUrl, 'all')
  const archivedWindow = await join(a, live.rootUrl, '1')
  await a.shutdown()

  const b = new Repo({ network: [], peerId: 'b' as PeerId })
  const imported = newClinic(b)
  const docs = new Map<string, [string, ArchivedVisit][]>()
  for (let i = 0; i < n; i += BATCH) {
    const ids = Array.from({ length: Math.min(BATCH, n - i) }, (_, j) => i + j)
    await imported.changeMany(
      ids.map((k) => ({
        patientId: patientAt(k).id,
        fn: (d: ChartCollection) => {
          const moved: ArchivedVisit[] = []
          writeHistoryChart(d, patientAt(k), k, thisYear, moved)
          const pid = patientAt(k).id
          for (const v of moved) {
            const key = `${v.year}/${shardOf(pid, ARCHIVE_SHARDS)}`
            docs.set(key, [...(docs.get(key) ?? []), [pid, v]])
          }
        },
      })),
    )
  }
  for (const [key, entries] of docs) {
    const [year, shard] = key.split('/').map(Number) as [number, number]
    const h = await imported.archives.forWriting(year, shard)
    h.change((d) => {
      for (const [pid, v] of entries)
        d.visits[v.encounterId] = { patientId: new ImmutableString(pid), encounter: v.encounter }
    })
  }
  await imported.archives.pullWindow()
  const importedFull = await join(b, imported.rootUrl, 'all')
  const importedWindow = await join(b, imported.rootUrl, '1')
  await b.shutdown()
  return {
    charts: n,
    visits: n * HISTORY_YEARS * VISITS_PER_YEAR,
    archived: report.moved,
    archiveMs,
    beforeArchiving,
    archivedFull,
    archivedWindow,
    importedFull,
    importedWindow,
  }
}

/** A tablet joins the clinic of `a` from its own process (history-join-child.ts) with history window `years`. */
function join(a: Repo, rootUrl: AutomergeUrl, years: string): Promise<HistoryJoin> {
  const file = fileURLToPath(new URL('./history-join-child.js', import.meta.url))
  const child = spawn(process.execPath, [file, rootUrl, years], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    serialization: 'advanced',
  })
  let err = ''
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()))
  return new Promise((resolve, reject) => {
    let result: HistoryJoin | undefined
    const port = ipcPort(child, (m) => (result = m as HistoryJoin))
    const adapter = new MessageChannelNetworkAdapter(port)
    a.networkSubsystem.addNetworkAdapter(adapter)
    child.on('exit', (code) =>
      result && code === 0
        ? resolve(result)
        : reject(new Error(`history joiner exited ${code}: ${err.slice(-400)}`)),
    )
  })
}
