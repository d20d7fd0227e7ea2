import { describe, expect, it } from 'vitest'
import * as A from '@automerge/automerge'
import { Repo, type DocHandle } from '@automerge/automerge-repo'
import { ClinicStore, INDEX_LAYOUT, type IndexShardDoc } from '@clinic-mesh/store'
import { summarizeNamed, registerNamed, type NamedChart } from './named-chart.js'
import { newClinic } from './new-clinic.js'
import { twoRepos } from './two-repos.js'

interface Bucket {
  charts: { [id: string]: NamedChart & { open?: string } }
}
const init = {
  indexShards: 2,
  chartBuckets: 4,
  summarize: summarizeNamed,
  openVisits: (b: Bucket, id: string): string | undefined => b.charts[id]?.open,
}

async function shards(repo: Repo, store: ClinicStore<Bucket>): Promise<DocHandle<IndexShardDoc>[]> {
  return Promise.all(store.layout.indexShards.map((u) => repo.find<IndexShardDoc>(u)))
}

/** Operations of a document's latest local change. */
function opsOfLastChange(h: DocHandle<IndexShardDoc>): number {
  const change = A.getLastLocalChange(h.doc())
  return change ? A.decodeChange(change).ops.length : 0
}

describe('packed index values: one Automerge op each in new clinics, text in older ones (issue 17 #4, #8)', () => {
  it("a new clinic's shards hold each summary and open visit as one scalar op", async () => {
    const repo = new Repo({ network: [] })
    const store = newClinic<Bucket>(repo, init)
    const handles = await shards(repo, store)
    expect(handles.map((h) => h.doc().layout)).toEqual([INDEX_LAYOUT, INDEX_LAYOUT])
    await store.change('pt1', registerNamed<Bucket>('pt1', 'fever').fn)
    const shard = handles.find((h) => h.doc().summaries['pt1'] !== undefined)!
    const doc = shard.doc()
    expect(A.isImmutableString(doc.summaries['pt1'])).toBe(true)
    expect(A.isImmutableString(doc.visits?.['pt1'])).toBe(true)
    // the summary and the open visit: two puts (as text they were ~30 and ~10 ops, one per character)
    expect(opsOfLastChange(shard)).toBe(2)
    expect(store.search('gpt1').map((s) => s.id)).toEqual(['pt1'])
    expect(store.openVisits.get('pt1')).toBe('fever')
    await repo.shutdown()
  })

  it('a clinic whose shards predate it keeps text, and a second device reads and writes both forms', async () => {
    const pair = twoRepos()
    const ra = pair.a()
    const a = newClinic<Bucket>(ra, init)
    const [old] = await shards(ra, a)
    old!.change((d) => void (d.layout = 'index/1')) // shard 0 as made before scalar values
    await a.changeMany(Array.from({ length: 12 }, (_, i) => registerNamed<Bucket>(`pt${i}`, `visit ${i}`)))
    const oldDoc = old!.doc()
    const ids = Object.keys(oldDoc.summaries)
    expect(ids.length).toBeGreaterThan(0)
    for (const id of ids) expect(typeof oldDoc.summaries[id]).toBe('string')

    const rb = pair.b()
    const b = await ClinicStore.open<Bucket>(rb, a.rootUrl, init)
    await b.indexReady
    expect(b.index.size).toBe(12)
    expect(b.openVisits.get(ids[0]!)).toBe(`visit ${ids[0]!.slice(2)}`)
    // b renames a patient of the old shard and one of the new: each keeps its shard's form
    const other = Object.keys((await shards(rb, b))[1]!.doc().summaries)[0]!
    for (const id of [ids[0]!, other]) await b.change(id, (d) => void (d.charts[id]!.family = 'Tembo'))
    const [bOld, bNew] = await shards(rb, b)
    expect(typeof bOld!.doc().summaries[ids[0]!]).toBe('string')
    expect(A.isImmutableString(bNew!.doc().summaries[other])).toBe(true)
    expect(
      b
        .search('tembo')
        .map((s) => s.id)
        .sort(),
    ).toEqual([ids[0]!, other].sort())
    await Promise.all([ra.shutdown(), rb.shutdown()])
  })
})
