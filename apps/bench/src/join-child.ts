/**
 * The joining tablet of P1 in its own process, so its RSS is its own: a repo that opens the clinic by its root URL
 * over IPC (see ipc-port.ts), waits until every patient is searchable, pulls every chart, and reports.
 */
import { Repo, type AutomergeUrl, type PeerId } from '@automerge/automerge-repo'
import { MessageChannelNetworkAdapter } from '@automerge/automerge-repo-network-messagechannel'
import { ClinicStore } from '@clinic-mesh/store'
import type { ChartCollection } from '@clinic-mesh/records'
import { ipcPort, sendBench } from './ipc-port.js'
import { summarizeBucket } from './layout-case.js'

export interface JoinResult {
  searchableMs: number
  allChartsMs: number
  found: number
  local: number
  rssMb: number
  heapMb: number
}

const rootUrl = process.argv[2] as AutomergeUrl
const t = performance.now()
const port = ipcPort(process)
const repo = new Repo({ network: [new MessageChannelNetworkAdapter(port)], peerId: 'c' as PeerId })
const store = await ClinicStore.open<ChartCollection>(repo, rootUrl, { summarize: summarizeBucket })
repo.sharePolicy = store.sharePolicy
const searchableMs = performance.now() - t
const found = store.index.size
await store.loadAllCharts()
const allChartsMs = performance.now() - t
const local = await store.countCharts()
const m = process.memoryUsage()
const result: JoinResult = { searchableMs, allChartsMs, found, local, rssMb: m.rss / 1e6, heapMb: m.heapUsed / 1e6 }
await sendBench(process, result)
process.exit(0)
