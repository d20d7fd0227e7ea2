import { describe, expect, it } from 'vitest'
import * as A from '@automerge/automerge'
import { Repo } from '@automerge/automerge-repo'
import type { PeerId } from '@automerge/automerge-repo'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClinicStore, reuseSyncPatches } from '@clinic-mesh/store'
import { summarizeNamed } from './named-chart.js'
import { twoRepos } from './two-repos.js'
import { newClinic } from './new-clinic.js'

interface MiniChart {
  given: string
  family: string
}
interface MiniBucket {
  charts: { [id: string]: MiniChart }
}

const init = {
  summarize: summarizeNamed,
}

function register(id: string): { patientId: string; fn: (d: MiniBucket) => void } {
  return { patientId: id, fn: (d) => void (d.charts[id] = { given: `G${id}`, family: 'Phiri' }) }
}

async function until(cond: () => Promise<boolean> | boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('a joining device that keeps charts on disk, not in memory (loadAllCharts release)', () => {
  it('saves every bucket, drops it from memory, and opens it again from storage on use', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'store-release-'))
    const link = twoRepos()
    const ra = link.a()
    const a = newClinic<MiniBucket>(ra, { indexShards: 2, chartBuckets: 8, ...init })
    ra.sharePolicy = a.sharePolicy
    await a.changeMany(Array.from({ length: 120 }, (_, i) => register(`pt${i}`)))
    const rb = link.b({ storage: new NodeFSStorageAdapter(dir) })
    const b = await ClinicStore.open<MiniBucket>(rb, a.rootUrl, init)
    rb.sharePolicy = b.sharePolicy
    await b.loadAllCharts(3, { release: true })
    const bucketIds = new Set(a.layout.chartBuckets.map((u) => u.replace('automerge:', '')))
    // no bucket is held by the repo any more: root + 2 shards only
    expect(Object.keys(rb.handles).filter((id) => bucketIds.has(id))).toEqual([])
    expect(await b.countCharts()).toBe(120)
    expect(b.index.size).toBe(120)
    // opening a patient loads its bucket from storage (the peer is gone: only the disk has it)
    await ra.shutdown()
    expect((await b.chart<MiniChart>('pt42')).given).toBe('Gpt42')
    await b.change('pt42', (d) => void (d.charts['pt42']!.family = 'Tembo'))
    expect(b.search('tembo').map((s) => s.id)).toEqual(['pt42'])
    await rb.shutdown()

    // a restart from the same disk: every chart is there (releasing must not overwrite a stored bucket)
    const rc = new Repo({ network: [], storage: new NodeFSStorageAdapter(dir), peerId: 'b' as PeerId })
    const c = await ClinicStore.open<MiniBucket>(rc, a.rootUrl, init)
    await c.loadAllCharts()
    expect(await c.countCharts()).toBe(120)
    expect((await c.chart<MiniChart>('pt42')).family).toBe('Tembo')
    await rc.shutdown()
    await rm(dir, { recursive: true, force: true })
  })

  it('without storage, release is ignored (nowhere to keep the charts)', async () => {
    const link = twoRepos()
    const ra = link.a()
    const a = newClinic<MiniBucket>(ra, { indexShards: 2, chartBuckets: 4, ...init })
    ra.sharePolicy = a.sharePolicy
    await a.changeMany(Array.from({ length: 20 }, (_, i) => register(`pt${i}`)))
    const rb = link.b()
    const b = await ClinicStore.open<MiniBucket>(rb, a.rootUrl, init)
    rb.sharePolicy = b.sharePolicy
    await b.loadAllCharts(2, { release: true })
    await ra.shutdown()
    expect(await b.countCharts()).toBe(20)
    expect((await b.chart<MiniChart>('pt7')).given).toBe('Gpt7')
    await rb.shutdown()
  })
})

describe('reuseSyncPatches', () => {
  it('a document handle reuses the patches of an applied sync message instead of diffing it again', async () => {
    expect(reuseSyncPatches()).toBe(true)
    const backend = Object.getPrototypeOf(A.getBackend(A.init())) as { diff: (...args: unknown[]) => unknown }
    const diff = backend.diff
    let diffs = 0
    backend.diff = function (this: unknown, ...args: unknown[]) {
      diffs++
      return diff.apply(this, args)
    }
    try {
      const link = twoRepos()
      const ra = link.a()
      const rb = link.b()
      const h = ra.create<{ xs: { [k: string]: { v: number } } }>({ xs: {} })
      h.change((d) => {
        for (let i = 0; i < 50; i++) d.xs[`k${i}`] = { v: i }
      })
      const hb = await rb.find<{ xs: { [k: string]: { v: number } } }>(h.url)
      let patches: A.Patch[] | undefined
      hb.on('change', (p) => (patches = p.patches))
      h.change((d) => void (d.xs['k1']!.v = 42))
      await until(() => patches !== undefined, 'the change on b')
      // the event's patches are exactly those of the change, and no diff was recomputed for them
      expect(patches).toEqual([{ action: 'put', path: ['xs', 'k1', 'v'], value: 42 }])
      expect(hb.doc().xs['k1']!.v).toBe(42)
      expect(diffs).toBe(0)
      await ra.shutdown()
      await rb.shutdown()
    } finally {
      backend.diff = diff
    }
  })

  it('pulls fewer buckets at once as buckets grow (a big clinic never has several large buckets in flight)', async () => {
    const link = twoRepos()
    const ra = link.a()
    const small = newClinic<MiniBucket>(ra, { indexShards: 2, chartBuckets: 8, ...init })
    await small.changeMany(Array.from({ length: 40 }, (_, i) => register(`s${i}`)))
    expect(small.pullWidth()).toBe(8) // 5 charts a bucket
    const big = newClinic<MiniBucket>(ra, { indexShards: 2, chartBuckets: 2, ...init })
    await big.changeMany(Array.from({ length: 200 }, (_, i) => register(`b${i}`)))
    expect(big.pullWidth()).toBe(2) // 100 charts a bucket
    await big.changeMany(Array.from({ length: 300 }, (_, i) => register(`c${i}`)))
    expect(big.pullWidth()).toBe(1) // 250 charts a bucket: one at a time
    await ra.shutdown()
  })
})
