/**
 * P16's joining tablet in its own process: a repo with storage on disk that opens the clinic over IPC, pulls every
 * chart bucket (each released from memory once saved) and then the archives of its history window (argv[3]: years,
 * or `all`). Reports the time, the bytes it received (sync messages' payloads) and what its disk holds.
 */
import { Repo, type AutomergeUrl, type PeerId } from '@automerge/automerge-repo'
import { MessageChannelNetworkAdapter } from '@automerge/automerge-repo-network-messagechannel'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClinicStore } from '@clinic-mesh/store'
import type { ChartCollection } from '@clinic-mesh/records'
import { ipcPort, sendBench, type PortLike } from './ipc-port.js'
import { summarizeBucket } from './summarize-bucket.js'

export interface HistoryJoin {
  /** every chart bucket and every archive of the window local */
  ms: number
  searchableMs: number
  found: number
  /** bytes of sync payloads received */
  receivedBytes: number
  /** bytes of the repo's storage directory once joined */
  diskBytes: number
  /** archive documents held */
  archives: number
  peakRssMb: number
}

const rootUrl = process.argv[2] as AutomergeUrl
const years = process.argv[3] === 'all' ? undefined : Number(process.argv[3])

/** The IPC port, counting the payload bytes of the messages it delivers. */
function counting(port: PortLike, count: (n: number) => void): PortLike {
  return {
    ...port,
    addEventListener: (type, listener) =>
      port.addEventListener(type, (event) => {
        const data = (event.data as { data?: ArrayBuffer | Uint8Array } | undefined)?.data
        if (data) count(data.byteLength)
        listener(event)
      }),
  }
}

async function du(dir: string): Promise<number> {
  let total = 0
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) total += (await stat(join(e.parentPath, e.name))).size
  return total
}

let received = 0
const t = performance.now()
const dir = await mkdtemp(join(tmpdir(), 'p16-joiner-'))
const repo = new Repo({
  network: [new MessageChannelNetworkAdapter(counting(ipcPort(process), (n) => (received += n)))],
  storage: new NodeFSStorageAdapter(dir),
  peerId: `tablet-${process.argv[3]}-${process.pid}` as PeerId,
})
const store = await ClinicStore.open<ChartCollection>(repo, rootUrl, {
  summarize: summarizeBucket,
  history: years === undefined ? {} : { historyYears: years },
})
repo.sharePolicy = store.sharePolicy
const searchableMs = performance.now() - t
const found = store.index.size
await store.loadAllCharts(2, { release: true })
const archives = await store.archives.pullWindow(4, { release: true })
await repo.flush()
const ms = performance.now() - t
const result: HistoryJoin = {
  ms,
  searchableMs,
  found,
  receivedBytes: received,
  diskBytes: await du(dir),
  archives,
  peakRssMb: (process.resourceUsage().maxRSS * 1024) / 1e6,
}
await repo.shutdown()
await rm(dir, { recursive: true, force: true })
await sendBench(process, result)
process.exit(0)
