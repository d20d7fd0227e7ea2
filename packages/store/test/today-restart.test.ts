import { describe, expect, it } from 'vitest'
import { NetworkAdapter, Repo, type PeerId } from '@automerge/automerge-repo'
import { MemoryStorage } from '@clinic-mesh/testing'
import { ClinicStore, flushReady, todayDocumentId } from '@clinic-mesh/store'
import { summarizeNamed, registerNamed } from './named-chart.js'
import { newClinic } from './new-clinic.js'

interface MiniBucket {
  charts: { [id: string]: { given: string; family: string; open?: string } }
}

/** A link that never comes up (the relay out of reach, no tablet nearby): a document asked of it never comes. */
class Unreachable extends NetworkAdapter {
  override isReady(): boolean {
    return false
  }
  override whenReady(): Promise<void> {
    return new Promise(() => undefined)
  }
  override connect(): void {}
  override send(): void {}
  override disconnect(): void {}
}

const day =
  (d: number): (() => Date) =>
  () =>
    new Date(2026, 11, d, 10, 0)
const init = (now: () => Date) => ({
  summarize: summarizeNamed,
  openVisits: (b: MiniBucket, id: string): string | undefined => b.charts[id]?.open,
  today: { arrivals: (packed: string) => [packed], now },
})

describe('a tablet restarting on a new day (issue 17 #1: search within a second of a restart)', () => {
  it('answers from its saved copy at once, without waiting on a peer for the new day’s document', async () => {
    const storage = new MemoryStorage()
    const ra = new Repo({ storage, network: [], peerId: 'a' as PeerId })
    const a = newClinic<MiniBucket>(ra, { indexShards: 2, chartBuckets: 4, ...init(day(5)) })
    await a.changeMany(
      Array.from({ length: 20 }, (_, i) => registerNamed<MiniBucket>(`pt${i}`, i < 2 ? 'x' : undefined)),
    )
    await a.today.open()
    await a.today.settled()
    await a.saveIndexCache()
    await ra.flush()
    await ra.shutdown()

    // the next morning, alone: today's document is on no disk and no peer can be asked for it
    const rb = new Repo({ storage, network: [new Unreachable()], peerId: 'a' as PeerId })
    try {
      const b = await ClinicStore.open<MiniBucket>(rb, a.rootUrl, {
        ...init(day(6)),
        indexCache: true,
        todayFirst: true,
      })
      // open did not wait for the day's document (a joining tablet's wait, up to TODAY_WAIT_MS, for nobody here)
      expect(rb.handles[todayDocumentId('c1', '2026-12-06')]?.isReady() ?? false).toBe(false)
      expect(b.search('gpt17').map((s) => s.id)).toEqual(['pt17'])
      expect([...b.openVisits.keys()].sort()).toEqual(['pt0', 'pt1'])
      // and the shards load at once (a restart is no join: nothing to pull first)
      await b.indexReady
      expect(b.index.size).toBe(20)
      // a stop saves every document that is ready, the day's document asked of nobody does not stop it
      await b.change('pt3', (d) => void (d.charts['pt3']!.family = 'Tembo'))
      await flushReady(rb)
      await expect(rb.flush()).rejects.toThrow(/not ready/) // what a plain flush does (automerge-repo 2.5)
    } finally {
      await flushReady(rb)
    }
    const rc = new Repo({ storage, network: [], peerId: 'a' as PeerId })
    const c = await ClinicStore.open<MiniBucket>(rc, a.rootUrl, { ...init(day(6)) })
    expect(c.search('tembo').map((s) => s.id)).toEqual(['pt3'])
    await flushReady(rc)
  })
})
