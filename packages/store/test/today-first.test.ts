import { describe, expect, it } from 'vitest'
import { Repo } from '@automerge/automerge-repo'
import type { PeerId } from '@automerge/automerge-repo'
import { MessageChannelNetworkAdapter } from '@automerge/automerge-repo-network-messagechannel'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ChartPull, ClinicStore, pullOrder } from '@clinic-mesh/store'
import { summarizeNamed } from './named-chart.js'

interface MiniBucket {
  charts: { [id: string]: { given: string; family: string } }
}

describe('today first: a joining tablet pulls the buckets of the open visits before the rest', () => {
  it('orders the pull: the given buckets first (deduplicated, in range), then every other once', () => {
    expect(pullOrder(6, [4, 1, 4, 9, -1])).toEqual([4, 1, 0, 2, 3, 5])
    expect(pullOrder(3)).toEqual([0, 1, 2])
  })

  it('pulls the first buckets before any other and reports today ready before the whole clinic', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'store-today-'))
    const { port1, port2 } = new MessageChannel()
    const ra = new Repo({ network: [new MessageChannelNetworkAdapter(port1)], peerId: 'a' as PeerId })
    const a = ClinicStore.create<MiniBucket>(ra, {
      clinic: 'c1',
      emptyBucket: () => ({ charts: {} }),
      indexShards: 2,
      chartBuckets: 8,
      summarize: summarizeNamed,
    })
    ra.sharePolicy = a.sharePolicy
    await a.changeMany(
      Array.from({ length: 80 }, (_, i) => ({
        patientId: `pt${i}`,
        fn: (d: MiniBucket) => void (d.charts[`pt${i}`] = { given: `G${i}`, family: 'Banda' }),
      })),
    )
    const rb = new Repo({
      network: [new MessageChannelNetworkAdapter(port2)],
      storage: new NodeFSStorageAdapter(dir),
      peerId: 'b' as PeerId,
    })
    try {
      const b = await ClinicStore.open<MiniBucket>(rb, a.rootUrl, { summarize: summarizeNamed })
      rb.sharePolicy = b.sharePolicy
      // today's two patients live in these buckets
      const today = [...new Set(['pt7', 'pt63'].map((p) => b.bucketIndexOf(p)))]
      const pull = new ChartPull(b.layout.chartBuckets.length, today)
      const order: number[] = []
      const readyAfter: number[] = []
      await b.loadAllCharts(2, {
        release: true,
        first: today,
        onBucket: (i) => {
          order.push(i)
          pull.done(i)
          if (pull.todayMs !== undefined && readyAfter.length === 0) readyAfter.push(order.length)
        },
      })
      // with two workers the first two buckets started are today's; today is ready before the last bucket lands
      expect(order.slice(0, today.length).sort()).toEqual([...today].sort())
      expect(readyAfter[0]).toBeLessThanOrEqual(today.length + 1)
      expect(order.sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
      expect(pull.progress).toEqual({ done: 8, total: 8, todayDone: today.length, todayTotal: today.length })
      expect(pull.allMs).toBeGreaterThanOrEqual(pull.todayMs ?? Infinity)
      expect((await b.chart<{ given: string } | undefined>('pt63'))?.given).toBe('G63')
    } finally {
      await rb.shutdown()
      await ra.shutdown()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
