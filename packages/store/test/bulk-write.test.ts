import { describe, expect, it } from 'vitest'
import * as A from '@automerge/automerge'
import { Repo } from '@automerge/automerge-repo'
import type { PeerId } from '@automerge/automerge-repo'
import { ClinicStore, findDoc } from '@clinic-mesh/store'
import { summarizeNamed } from './named-chart.js'
import { twoRepos } from './two-repos.js'
import { newClinic } from './new-clinic.js'

interface MiniChart {
  given: string
  family: string
  visits: { [id: string]: { reason: string } }
}
interface MiniBucket {
  charts: { [id: string]: MiniChart }
}

const init = {
  summarize: summarizeNamed,
}
const STATE = Symbol.for('_am_meta')

function create(repo: Repo, buckets = 4, shards = 2): ClinicStore<MiniBucket> {
  return newClinic<MiniBucket>(repo, { indexShards: shards, chartBuckets: buckets, ...init })
}

function register(id: string, family = 'Phiri'): { patientId: string; fn: (d: MiniBucket) => void } {
  return {
    patientId: id,
    fn: (d) => {
      d.charts[id] = { given: `G${id}`, family, visits: {} }
      d.charts[id].visits['v1'] = { reason: 'fever' }
    },
  }
}

/** Number of Automerge changes in the history of every bucket (the cost changeMany exists to bound). */
async function bucketChanges(repo: Repo, store: ClinicStore<MiniBucket>): Promise<number> {
  let n = 0
  for (const url of store.layout.chartBuckets)
    n += A.getAllChanges((await findDoc<MiniBucket>(repo, url)).doc()).length
  return n
}

describe('ClinicStore.changeMany (bulk import)', () => {
  it('writes every chart with one change per bucket and one per index shard, and indexes every summary', async () => {
    const repo = new Repo({ network: [], peerId: 'a' as PeerId })
    const store = create(repo)
    const before = await bucketChanges(repo, store)
    await store.changeMany(
      Array.from({ length: 100 }, (_, i) => register(`pt${i}`, i === 7 ? 'Mwale' : 'Phiri')),
    )
    expect(store.index.size).toBe(100)
    expect(store.search('mwale').map((s) => s.id)).toEqual(['pt7'])
    expect((await store.chart<MiniChart>('pt99')).visits['v1']?.reason).toBe('fever')
    // 4 buckets: exactly 4 new changes for 100 patients (the per-patient path would take 100).
    expect((await bucketChanges(repo, store)) - before).toBe(4)
    await repo.shutdown()
  })

  it('a clinic from createDocuments, opened on the same repo: each shard takes one change per bulk write, not one per patient', async () => {
    const repo = new Repo({ network: [], peerId: 'a' as PeerId })
    const root = ClinicStore.createDocuments<MiniBucket>(repo, {
      clinic: 'c1',
      emptyBucket: () => ({ charts: {} }),
      indexShards: 2,
      chartBuckets: 4,
    })
    const store = await ClinicStore.open<MiniBucket>(repo, root, init)
    const shardChanges = async (): Promise<number> => {
      let n = 0
      for (const url of store.layout.indexShards)
        n += A.getAllChanges((await findDoc(repo, url)).doc()).length
      return n
    }
    const before = await shardChanges()
    const bucketsBefore = await bucketChanges(repo, store)
    await store.changeMany(Array.from({ length: 50 }, (_, i) => register(`pt${i}`)))
    // a store kept over the same documents (what `create` then `open` left behind) wrote each summary again: +50
    expect((await shardChanges()) - before).toBe(2)
    expect((await bucketChanges(repo, store)) - bucketsBefore).toBe(4)
    expect(store.index.size).toBe(50)
    await repo.shutdown()
  })

  it('a write that throws aborts its bucket only; the others are written and indexed, then the error is rethrown', async () => {
    const repo = new Repo({ network: [], peerId: 'a' as PeerId })
    const store = create(repo, 8)
    const writes = Array.from({ length: 40 }, (_, i) => register(`pt${i}`))
    const bad = 'pt13'
    const badBucket = store.bucketIndexOf(bad)
    writes.push({
      patientId: bad,
      fn: () => {
        throw new RangeError('boom')
      },
    })
    await expect(store.changeMany(writes)).rejects.toThrow('boom')
    const inBad = writes.filter((w) => store.bucketIndexOf(w.patientId) === badBucket).length - 1
    expect(store.index.size).toBe(40 - inBad)
    await expect(store.chart(bad)).rejects.toMatchObject({ name: 'UnknownPatientError' })
    const other = writes.find((w) => store.bucketIndexOf(w.patientId) !== badBucket)!
    expect((await store.chart<MiniChart>(other.patientId)).family).toBe('Phiri')
    await repo.shutdown()
  })

  it('a second device receives a bulk import: searchable, every chart local, and no patches kept on the documents', async () => {
    const link = twoRepos()
    const ra = link.a()
    const a = create(ra)
    ra.sharePolicy = a.sharePolicy
    await a.changeMany(Array.from({ length: 200 }, (_, i) => register(`pt${i}`)))
    const rb = link.b()
    const b = await ClinicStore.open<MiniBucket>(rb, a.rootUrl, init)
    rb.sharePolicy = b.sharePolicy
    expect(b.index.size).toBe(200)
    await b.loadAllCharts()
    expect(await b.countCharts()).toBe(200)
    for (const store of [a, b]) {
      for (let i = 0; i < 200; i += 17) {
        const bucket = (await store.bucketFor(`pt${i}`)).doc()
        const chart = bucket.charts[`pt${i}`] as unknown as Record<symbol, { mostRecentPatch?: unknown }>
        // The patches of the change (or sync message) that materialized this chart are released.
        expect(chart[STATE]).toBeDefined()
        expect(chart[STATE]!.mostRecentPatch).toBeUndefined()
      }
    }
    // A later remote edit still reaches the other device (patches are released after the handle used them).
    await a.change('pt3', (d) => {
      d.charts['pt3']!.family = 'Tembo'
    })
    const deadline = Date.now() + 10_000
    const arrived = async (): Promise<boolean> =>
      b.search('tembo').length === 1 && (await b.chart<MiniChart>('pt3')).family === 'Tembo'
    while (!(await arrived()) && Date.now() < deadline) await new Promise((r) => setImmediate(r))
    expect((await b.chart<MiniChart>('pt3')).family).toBe('Tembo')
    await ra.shutdown()
    await rb.shutdown()
  })
})
