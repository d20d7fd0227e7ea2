import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Repo, type PeerId, type StorageAdapterInterface } from '@automerge/automerge-repo'
import { MessageChannelNetworkAdapter } from '@automerge/automerge-repo-network-messagechannel'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import { emptyCollection, summarize as summarizeChart, type ChartCollection } from '@clinic-mesh/records'
import { Keyring, generateDataKey } from '@clinic-mesh/security'
import { EncryptedStorageAdapter } from '@clinic-mesh/storage-encrypted'
import { ClinicStore, type PatientSummary } from '@clinic-mesh/store'
import { patientAt, writeChart } from './fixtures.js'

export type AtRestKind = 'plain' | 'encrypted'

/** One P6 run: P1's join (every chart local) with the joining repo on disk, then a cold reopen from that disk. */
export interface AtRestResult {
  kind: AtRestKind
  charts: number
  /** join until every chart is local, plus the flush that puts it all on disk */
  joinMs: number
  /** a new Repo on the same directory, offline: index searchable and every chart loaded */
  reopenMs: number
  bytesOnDisk: number
  files: number
}

const summarize = (b: ChartCollection, id: string): PatientSummary | undefined => {
  const c = b.charts[id]
  return c ? summarizeChart(c) : undefined
}

async function du(dir: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0
  let files = 0
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue
    bytes += (await stat(join(e.parentPath, e.name))).size
    files++
  }
  return { bytes, files }
}

function storageFor(kind: AtRestKind, dir: string, keyring: Keyring): StorageAdapterInterface {
  const fs = new NodeFSStorageAdapter(dir)
  return kind === 'plain' ? fs : new EncryptedStorageAdapter(fs, keyring)
}

/**
 * The clinic (n charts, P1's fixtures and layout) in an in-memory repo A; repo B joins over a MessageChannel with
 * its storage in a temp directory, plain NodeFS or NodeFS under the device node's EncryptedStorageAdapter (a random
 * data key: the key file's scrypt unlock is a once-per-boot cost, not part of sync).
 */
export async function runAtRest(kind: AtRestKind, n: number): Promise<AtRestResult> {
  const dir = await mkdtemp(join(tmpdir(), `p6-${kind}-`))
  const keyring = new Keyring((await generateDataKey(1)).dataKey)
  const { port1, port2 } = new MessageChannel()
  const a = new Repo({ network: [new MessageChannelNetworkAdapter(port1)], peerId: 'a' as PeerId })
  const store = ClinicStore.create<ChartCollection>(a, {
    clinic: 'bench',
    emptyBucket: emptyCollection,
    summarize,
    chartBuckets: 64,
    indexShards: 16,
  })
  a.sharePolicy = store.sharePolicy
  for (let i = 0; i < n; i++) {
    const p = patientAt(i)
    await store.change(p.id, (d) => writeChart(d, p))
  }
  let t = performance.now()
  const b = new Repo({
    network: [new MessageChannelNetworkAdapter(port2)],
    storage: storageFor(kind, dir, keyring),
    peerId: 'b' as PeerId,
  })
  const storeB = await ClinicStore.open<ChartCollection>(b, store.rootUrl, { summarize })
  b.sharePolicy = storeB.sharePolicy
  await storeB.loadAllCharts()
  await b.flush()
  const joinMs = performance.now() - t
  if ((await storeB.countCharts()) !== n) throw new Error(`${kind}: not every chart arrived`)
  await b.shutdown()
  await a.shutdown()

  t = performance.now()
  const c = new Repo({ network: [], storage: storageFor(kind, dir, keyring), peerId: 'c' as PeerId })
  const storeC = await ClinicStore.open<ChartCollection>(c, store.rootUrl, { summarize })
  await storeC.loadAllCharts()
  const reopenMs = performance.now() - t
  if (storeC.index.size !== n || (await storeC.countCharts()) !== n)
    throw new Error(`${kind}: reopen found ${storeC.index.size} of ${n}`)
  await c.shutdown()
  const { bytes, files } = await du(dir)
  await rm(dir, { recursive: true, force: true })
  return { kind, charts: n, joinMs, reopenMs, bytesOnDisk: bytes, files }
}
