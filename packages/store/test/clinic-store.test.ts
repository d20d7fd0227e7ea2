import { describe, expect, it } from 'vitest'
import * as A from '@automerge/automerge'
import type { Repo } from '@automerge/automerge-repo'
import { ClinicStore, type IndexShardDoc } from '@clinic-mesh/store'
import { summarizeNamed } from './named-chart.js'
import { twoRepos } from './two-repos.js'
import { newClinic } from './new-clinic.js'

interface MiniChart {
  given: string
  family: string
  notes: string
}
interface MiniBucket {
  charts: { [id: string]: MiniChart }
}

const init = {
  summarize: summarizeNamed,
}

function pair(): [Repo, Repo] {
  const link = twoRepos()
  return [link.a(), link.b()]
}

async function until(
  check: () => boolean,
  store: { index: { size: number } },
  timeoutMs = 10_000,
): Promise<void> {
  const start = Date.now()
  // Waits on the event loop turning (sync messages arrive as events), not on a fixed sleep.
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out; index size ${store.index.size}`)
    await new Promise((r) => setImmediate(r))
  }
}

describe('ClinicStore', () => {
  it('a second device opening the clinic can search every patient and read every chart', async () => {
    const [ra, rb] = pair()
    const a = newClinic<MiniBucket>(ra, { indexShards: 4, chartBuckets: 8, ...init })
    for (let i = 0; i < 200; i++) {
      await a.change(`pt${i}`, (d) => {
        d.charts[`pt${i}`] = { given: `Given${i}`, family: i === 42 ? 'Mwale' : 'Phiri', notes: '' }
      })
    }
    expect(a.search('mwale').map((p) => p.id)).toEqual(['pt42'])

    const b = await ClinicStore.open<MiniBucket>(rb, a.rootUrl, init)
    expect(b.index.size).toBe(200)
    expect(b.search('mwale').map((p) => p.id)).toEqual(['pt42'])
    await b.loadAllCharts()
    expect((await b.chart<MiniChart>('pt42')).family).toBe('Mwale')
    await expect(b.chart('nobody')).rejects.toMatchObject({ name: 'UnknownPatientError' })
    expect(b.documentUrls()).toHaveLength(1 + 4 + 8)
    await ra.shutdown()
    await rb.shutdown()
  })

  it('an edit made on one device is searchable on the other', async () => {
    const [ra, rb] = pair()
    const a = newClinic<MiniBucket>(ra, { indexShards: 2, chartBuckets: 2, ...init })
    await a.change('p1', (d) => {
      d.charts['p1'] = { given: 'Ana', family: 'Moyo', notes: '' }
    })
    const b = await ClinicStore.open<MiniBucket>(rb, a.rootUrl, init)
    await b.change('p1', (d) => {
      d.charts['p1']!.family = 'Tembo'
    })
    await until(() => a.search('tembo').length === 1, a)
    expect(a.search('moyo')).toEqual([])
    await ra.shutdown()
    await rb.shutdown()
  })

  it('concurrent edits of one patient on two devices: both end with a summary holding both edits (repair)', async () => {
    const [ra, rb] = pair()
    const a = newClinic<MiniBucket>(ra, { indexShards: 2, chartBuckets: 2, ...init })
    await a.change('p1', (d) => {
      d.charts['p1'] = { given: 'Ana', family: 'Moyo', notes: '' }
    })
    const b = await ClinicStore.open<MiniBucket>(rb, a.rootUrl, init)
    await b.chart('p1')
    // written before either hears of the other: each writes its own (whole) summary string, one of which wins
    await Promise.all([
      a.change('p1', (d) => {
        d.charts['p1']!.given = 'Anna'
      }),
      b.change('p1', (d) => {
        d.charts['p1']!.family = 'Tembo'
      }),
    ])
    const both = (s: ClinicStore<MiniBucket>): boolean => s.search('anna tembo').length === 1
    await until(() => both(a) && both(b), a)
    expect(a.search('moyo')).toEqual([])
    expect(b.search('ana moyo')).toEqual([])
    await ra.shutdown()
    await rb.shutdown()
  })

  it('a remote edit whose author wrote its summary is not summarised again where it arrives (issue 17 #8)', async () => {
    const [ra, rb] = pair()
    const a = newClinic<MiniBucket>(ra, { indexShards: 1, chartBuckets: 1, ...init })
    await a.change('p1', (d) => {
      d.charts['p1'] = { given: 'Ana', family: 'Moyo', notes: '' }
    })
    const b = await ClinicStore.open<MiniBucket>(rb, a.rootUrl, { ...init, repairDelayMs: 300 })
    const bucket = await b.bucketFor('p1') // b holds the bucket: it would repair a remote edit's summary
    // a writes the bucket, then the summary: b hears the bucket first
    await a.change('p1', (d) => {
      d.charts['p1']!.family = 'Tembo'
    })
    await until(() => bucket.doc().charts['p1']?.family === 'Tembo', b)
    // b has the edit and holds its repair back (a repair at once would already be in b's shard)...
    expect(b.pendingRepairs).toBe(1)
    await until(() => b.search('tembo').length === 1, b)
    // ...until its delay is up: then it runs, and finds the author's summary already there
    await b.repairsSettled()
    expect(b.pendingRepairs).toBe(0)
    const shard = await rb.find<IndexShardDoc>(b.layout.indexShards[0]!)
    const mine = A.getActorId(shard.doc())
    const byB = A.getAllChanges(shard.doc()).filter((c) => A.decodeChange(c).actor === mine)
    expect(byB).toEqual([])
    expect(b.search('tembo').map((p) => p.id)).toEqual(['p1'])
    await ra.shutdown()
    await rb.shutdown()
  })

  it('after a new device has pulled every bucket, chart edits flow live both ways', async () => {
    const [ra, rb] = pair()
    const a = newClinic<MiniBucket>(ra, { indexShards: 2, chartBuckets: 4, ...init })
    ra.sharePolicy = a.sharePolicy
    for (let i = 0; i < 20; i++) {
      await a.change(`p${i}`, (d) => {
        d.charts[`p${i}`] = { given: 'G', family: `F${i}`, notes: '' }
      })
    }
    const b = await ClinicStore.open<MiniBucket>(rb, a.rootUrl, init)
    rb.sharePolicy = b.sharePolicy
    expect(b.isBootstrapped('b')).toBe(false)
    await b.loadAllCharts()
    expect(b.isBootstrapped('b')).toBe(true)
    await until(() => a.isBootstrapped('b'), a)
    await a.change('p3', (d) => {
      d.charts['p3']!.notes = 'seen by the clinician'
    })
    const bucket = await b.bucketFor('p3')
    await until(() => bucket.doc().charts['p3']?.notes === 'seen by the clinician', b)
    await b.change('p4', (d) => {
      d.charts['p4']!.family = 'Changed'
    })
    await until(() => a.search('changed').length === 1, a)
    await ra.shutdown()
    await rb.shutdown()
  })

  it('refuses a root URL that is not a clinic root', async () => {
    const [ra] = pair()
    const other = ra.create({ hello: 'world' })
    await expect(ClinicStore.open(ra, other.url, init)).rejects.toMatchObject({ name: 'LayoutError' })
    await ra.shutdown()
  })
})
