import { describe, expect, it } from 'vitest'
import { Repo, type PeerId } from '@automerge/automerge-repo'
import { MemoryStorage, eventually } from '@clinic-mesh/testing'
import { ClinicStore } from '@clinic-mesh/store'
import { summarizeNamed, registerNamed } from './named-chart.js'
import { twoRepos } from './two-repos.js'
import { newClinic } from './new-clinic.js'

interface MiniChart {
  given: string
  family: string
  /** an open visit's reason, if any */
  open?: string
}
interface MiniBucket {
  charts: { [id: string]: MiniChart }
}

const init = {
  summarize: summarizeNamed,
  openVisits: (b: MiniBucket, id: string): string | undefined => b.charts[id]?.open,
}

const register = (id: string, open?: string) => registerNamed<MiniBucket>(id, open)

describe('a store that opens chart buckets on demand (issue 17: cold start, memory)', () => {
  it('reopened from storage: search and open visits without a bucket, one bucket per use, idle ones released', async () => {
    const storage = new MemoryStorage()
    const ra = new Repo({ storage, network: [], peerId: 'a' as PeerId })
    const a = newClinic<MiniBucket>(ra, { indexShards: 2, chartBuckets: 8, ...init })
    await a.changeMany(
      Array.from({ length: 40 }, (_, i) => register(`pt${i}`, i < 5 ? `visit ${i}` : undefined)),
    )
    await a.change('pt1', (d) => void delete d.charts['pt1']!.open) // a visit closed: gone from the shards
    expect(a.loadedBuckets).toBe(8)
    await ra.flush()
    await ra.shutdown()

    const rb = new Repo({ storage, network: [], peerId: 'a' as PeerId })
    const b = await ClinicStore.open<MiniBucket>(rb, a.rootUrl, init)
    expect(b.isBootstrapped('a')).toBe(true)
    expect(b.search('gpt17').map((s) => s.id)).toEqual(['pt17'])
    expect(Object.fromEntries(b.openVisits)).toEqual({
      pt0: 'visit 0',
      pt2: 'visit 2',
      pt3: 'visit 3',
      pt4: 'visit 4',
    })
    expect(b.loadedBuckets).toBe(0)

    expect((await b.chart<MiniChart>('pt17')).given).toBe('Gpt17')
    expect(b.loadedBuckets).toBe(1)
    expect(await b.releaseIdle(60_000)).toBe(0) // just used: stays
    expect(await b.releaseIdle(0)).toBe(1)
    expect(b.loadedBuckets).toBe(0)
    // released, then opened again from storage, with what was written before the release
    await b.change('pt17', (d) => void (d.charts['pt17']!.open = 'back today'))
    expect(b.openVisits.get('pt17')).toBe('back today')
    expect(await b.releaseIdle(0)).toBe(1)
    expect((await b.chart<MiniChart>('pt17')).open).toBe('back today')
    await rb.shutdown()
  })

  it("adopts the buckets its repo already holds (a device that founded the clinic), so a browser's registration is indexed", async () => {
    const link = twoRepos()
    const rn = link.a({ storage: new MemoryStorage(), peerId: 'node' })
    const founded = newClinic<MiniBucket>(rn, { indexShards: 2, chartBuckets: 4, ...init })
    // the device opens its clinic again (as after founding it): every bucket's handle is already in the repo
    const node = await ClinicStore.open<MiniBucket>(rn, founded.rootUrl, init)
    expect(node.loadedBuckets).toBe(4)
    const rw = link.b({ peerId: 'web' })
    const web = await ClinicStore.open<MiniBucket>(rw, founded.rootUrl, { ...init, writeSummaries: false })
    await web.changeMany([register('pt1')])
    // only the node writes summaries: it must see the browser's change to the bucket it holds
    await eventually(() => node.search('gpt1').length === 1, { what: "the browser's registration indexed" })
    await rw.shutdown()
    await rn.shutdown()
  })

  it('adopts a bucket the repo loads for a peer and repairs the summary of its remote edit', async () => {
    const link = twoRepos()
    const ra = link.a()
    // a writer that does not write summaries (a browser): only the peer that holds the bucket repairs them
    const a = newClinic<MiniBucket>(ra, { indexShards: 2, chartBuckets: 4, writeSummaries: false, ...init })
    ra.sharePolicy = a.sharePolicy
    await a.changeMany(Array.from({ length: 20 }, (_, i) => register(`pt${i}`)))
    const rb = link.b({ storage: new MemoryStorage() })
    const b = await ClinicStore.open<MiniBucket>(rb, a.rootUrl, init)
    rb.sharePolicy = b.sharePolicy
    await b.loadAllCharts(2, { release: true })
    // the pull released every bucket (join-release.test.ts); a's last sync messages of the pull can still arrive
    // after a release and load a bucket again (the repo applies them): those go back to disk when idle too
    for (let round = 0; round < 20 && (await b.releaseIdle(0)) > 0; round++);
    expect(b.loadedBuckets).toBe(0)
    expect(b.search('tembo')).toEqual([])

    await a.change('pt7', (d) => {
      d.charts['pt7']!.family = 'Tembo'
      d.charts['pt7']!.open = 'cough'
    })
    // b's repo loads the bucket from its disk to apply a's change: the store adopts it and repairs pt7
    await eventually(() => b.search('tembo').length === 1, { what: 'the remote edit repaired on b' })
    expect(b.openVisits.get('pt7')).toBe('cough')
    expect(b.loadedBuckets).toBe(1)
    // an adopted bucket goes back to disk once idle too (it was released by the join before)
    expect(await b.releaseIdle(0)).toBe(1)
    expect(b.loadedBuckets).toBe(0)
    await ra.shutdown()
    await rb.shutdown()
  })
  it('keeps a bucket held for a write to come through idle sweeps, twice held until unheld twice', async () => {
    const storage = new MemoryStorage()
    const ra = new Repo({ storage, network: [], peerId: 'a' as PeerId })
    const a = newClinic<MiniBucket>(ra, { indexShards: 2, chartBuckets: 8, ...init })
    await ra.flush()
    await ra.shutdown()
    const rb = new Repo({ storage, network: [], peerId: 'a' as PeerId })
    const b = await ClinicStore.open<MiniBucket>(rb, a.rootUrl, init)
    expect(b.loadedBuckets).toBe(0)
    await Promise.all([b.holdBucketFor('pt-next'), b.holdBucketFor('pt-next')])
    await b.chart<MiniChart>('pt-other').catch(() => undefined) // another bucket (or the same), opened for a read
    expect(b.loadedBuckets).toBeGreaterThanOrEqual(1)
    await b.releaseIdle(0)
    expect(b.loadedBuckets).toBe(1) // the held one only
    b.unholdBucketFor('pt-next')
    expect(await b.releaseIdle(0)).toBe(0) // still held once
    b.unholdBucketFor('pt-next')
    expect(await b.releaseIdle(0)).toBe(1)
    expect(b.loadedBuckets).toBe(0)
    await rb.shutdown()
  })
})
