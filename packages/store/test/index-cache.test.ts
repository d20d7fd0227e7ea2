import { describe, expect, it } from 'vitest'
import { Repo, parseAutomergeUrl, type Chunk, type PeerId, type StorageKey } from '@automerge/automerge-repo'
import { MemoryStorage } from '@clinic-mesh/testing'
import { ClinicStore } from '@clinic-mesh/store'
import { summarizeNamed, registerNamed } from './named-chart.js'
import { newClinic } from './new-clinic.js'

interface MiniBucket {
  charts: { [id: string]: { given: string; family: string; open?: string } }
}

const init = {
  summarize: summarizeNamed,
  openVisits: (b: MiniBucket, id: string): string | undefined => b.charts[id]?.open,
}

const register = (id: string, open?: string) => registerNamed<MiniBucket>(id, open)

/** Storage whose index shards stay unreadable until `release()`: what a slow shard load looks like. */
class SlowShards extends MemoryStorage {
  held = new Set<string>()
  #release: () => void = () => undefined
  readonly #gate = new Promise<void>((resolve) => (this.#release = resolve))
  release(): void {
    this.#release()
  }
  override async loadRange(prefix: StorageKey): Promise<Chunk[]> {
    if (prefix[0] !== undefined && this.held.has(prefix[0])) await this.#gate
    return super.loadRange(prefix)
  }
}

describe('the saved copy of the index shards (issue 17: search within a second of a restart)', () => {
  it('answers search and open visits from the copy while the shards load, then from the shards', async () => {
    const storage = new SlowShards()
    const ra = new Repo({ storage, network: [], peerId: 'a' as PeerId })
    const a = newClinic<MiniBucket>(ra, { indexShards: 4, chartBuckets: 8, ...init })
    await a.changeMany(
      Array.from({ length: 40 }, (_, i) => register(`pt${i}`, i < 3 ? `visit ${i}` : undefined)),
    )
    await a.saveIndexCache()
    // after the save: a new patient, a renamed one, a closed visit (the copy is stale for these)
    await a.change('pt40', register('pt40').fn)
    await a.change('pt3', (d) => void (d.charts['pt3']!.family = 'Tembo'))
    await a.change('pt0', (d) => void delete d.charts['pt0']!.open)
    await ra.flush()
    await ra.shutdown()

    for (const url of a.layout.indexShards) storage.held.add(parseAutomergeUrl(url).documentId)
    const rb = new Repo({ storage, network: [], peerId: 'a' as PeerId })
    const b = await ClinicStore.open<MiniBucket>(rb, a.rootUrl, { ...init, indexCache: true })
    let ready = false
    void b.indexReady.then(() => (ready = true))
    // the shards are still held back: these answers come from the saved copy
    expect(b.search('gpt17').map((s) => s.id)).toEqual(['pt17'])
    expect(b.search('gpt40')).toEqual([])
    expect(b.index.size).toBe(40)
    expect([...b.openVisits.keys()].sort()).toEqual(['pt0', 'pt1', 'pt2'])
    expect(b.loadedBuckets).toBe(0)
    const write = b.change('pt5', (d) => void (d.charts['pt5']!.open = 'back'))
    await new Promise((r) => setImmediate(r))
    const state = await Promise.race([write.then(() => 'written'), Promise.resolve('waiting')])
    expect([state, ready]).toEqual(['waiting', false]) // a write waits for the shards (its summary goes into one)

    storage.release()
    await b.indexReady
    await write
    expect(b.search('gpt40').map((s) => s.id)).toEqual(['pt40'])
    expect(b.search('tembo').map((s) => s.id)).toEqual(['pt3'])
    expect(b.index.size).toBe(41)
    expect([...b.openVisits.keys()].sort()).toEqual(['pt1', 'pt2', 'pt5'])
    await rb.shutdown()
  })

  it('without a saved copy, open waits for the shards as before', async () => {
    const storage = new MemoryStorage()
    const ra = new Repo({ storage, network: [], peerId: 'a' as PeerId })
    const a = newClinic<MiniBucket>(ra, { indexShards: 2, chartBuckets: 4, ...init })
    await a.changeMany(Array.from({ length: 10 }, (_, i) => register(`pt${i}`)))
    await ra.flush()
    await ra.shutdown()
    const rb = new Repo({ storage, network: [], peerId: 'a' as PeerId })
    const b = await ClinicStore.open<MiniBucket>(rb, a.rootUrl, { ...init, indexCache: true })
    expect(b.index.size).toBe(10)
    await rb.shutdown()
  })
})
