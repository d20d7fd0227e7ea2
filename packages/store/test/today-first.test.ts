import { describe, expect, it } from 'vitest'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ChartPull, ClinicStore, DEFAULT_CHART_BUCKETS, chartBucketsFor, pullOrder } from '@clinic-mesh/store'
import { Repo } from '@automerge/automerge-repo'
import { summarizeNamed } from './named-chart.js'
import { twoRepos } from './two-repos.js'
import { newClinic } from './new-clinic.js'

interface MiniBucket {
  charts: { [id: string]: { given: string; family: string } }
}

describe('today first: a joining tablet pulls the buckets of the open visits before the rest', () => {
  it('orders the pull: the given buckets first (deduplicated, in range), then every other once', () => {
    expect(pullOrder(6, [4, 1, 4, 9, -1])).toEqual([4, 1, 0, 2, 3, 5])
    expect(pullOrder(3)).toEqual([0, 1, 2])
  })

  it('sizes a new clinic’s chart buckets by its expected charts: a pop-up clinic few, a big clinic small buckets', async () => {
    expect(chartBucketsFor(0)).toBe(8)
    expect(chartBucketsFor(50)).toBe(8)
    expect(chartBucketsFor(1_000)).toBe(128)
    expect(chartBucketsFor(10_000)).toBe(1024)
    expect(chartBucketsFor(200_000)).toBe(1024)
    const repo = new Repo({ network: [] })
    try {
      expect(
        newClinic<MiniBucket>(repo, { summarize: summarizeNamed, expectedCharts: 50 }).layout.chartBuckets,
      ).toHaveLength(8)
      // no expected size: the 64 of every clinic made before; an explicit count wins
      expect(newClinic<MiniBucket>(repo, { summarize: summarizeNamed }).layout.chartBuckets).toHaveLength(
        DEFAULT_CHART_BUCKETS,
      )
      expect(
        newClinic<MiniBucket>(repo, { summarize: summarizeNamed, expectedCharts: 10_000, chartBuckets: 4 })
          .layout.chartBuckets,
      ).toHaveLength(4)
    } finally {
      await repo.shutdown()
    }
  })

  it('a tablet joining a clinic made for 2,000 charts (256 buckets) pulls only the open visits’ buckets before the rest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'store-today-sized-'))
    const { ra, rb, b } = await clinicAndJoiner({ expectedCharts: 2_000 }, 300, dir)
    try {
      expect(b.layout.chartBuckets).toHaveLength(256)
      const visits = ['pt3', 'pt150', 'pt299']
      const today = [...new Set(visits.map((p) => b.bucketIndexOf(p)))]
      const pull = new ChartPull(b.layout.chartBuckets.length, today)
      let doneAtToday = 0
      await b.loadAllCharts(b.pullWidth(), {
        release: true,
        first: today,
        onBucket: (i) => {
          pull.done(i)
          if (pull.todayMs !== undefined && doneAtToday === 0) doneAtToday = pull.progress.done
        },
      })
      // the three visits' charts came with a handful of small buckets, not a share of the clinic
      expect(doneAtToday).toBeLessThanOrEqual(today.length + b.pullWidth() - 1)
      expect(pull.progress.done).toBe(256)
      expect(await b.countCharts()).toBe(300)
      expect((await b.chart<{ given: string } | undefined>('pt299'))?.given).toBe('G299')
    } finally {
      await rb.shutdown()
      await ra.shutdown()
      await rm(dir, { recursive: true, force: true })
    }
  }, 120_000)

  it('pulls the first buckets before any other and reports today ready before the whole clinic', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'store-today-'))
    const { ra, rb, b } = await clinicAndJoiner({ chartBuckets: 8 }, 80, dir)
    try {
      // today's two patients live in these buckets
      const today = [...new Set(['pt7', 'pt63'].map((p) => b.bucketIndexOf(p)))]
      const pull = new ChartPull(b.layout.chartBuckets.length, today)
      const order: number[] = []
      const readyAfter: number[] = []
      // one at a time, so the order buckets land in is the order they were started in (with two workers a third
      // bucket can land before the second of today's: a race seen under load)
      await b.loadAllCharts(1, {
        release: true,
        first: today,
        onBucket: (i) => {
          order.push(i)
          pull.done(i)
          if (pull.todayMs !== undefined && readyAfter.length === 0) readyAfter.push(order.length)
        },
      })
      // today's buckets are pulled first; today is ready as soon as they are, before the rest of the clinic
      expect(order.slice(0, today.length)).toEqual(today)
      expect(readyAfter[0]).toBe(today.length)
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

/** A clinic of `charts` charts ("Banda") on repo a, and repo b (on disk at `dir`) that has opened it to join. */
async function clinicAndJoiner(
  layout: { chartBuckets?: number; expectedCharts?: number },
  charts: number,
  dir: string,
): Promise<{ ra: Repo; rb: Repo; b: ClinicStore<MiniBucket> }> {
  const link = twoRepos()
  const ra = link.a()
  const a = newClinic<MiniBucket>(ra, { indexShards: 2, ...layout, summarize: summarizeNamed })
  ra.sharePolicy = a.sharePolicy
  await a.changeMany(
    Array.from({ length: charts }, (_, i) => ({
      patientId: `pt${i}`,
      fn: (d: MiniBucket) => void (d.charts[`pt${i}`] = { given: `G${i}`, family: 'Banda' }),
    })),
  )
  const rb = link.b({ storage: new NodeFSStorageAdapter(dir) })
  const b = await ClinicStore.open<MiniBucket>(rb, a.rootUrl, { summarize: summarizeNamed })
  rb.sharePolicy = b.sharePolicy
  return { ra, rb, b }
}
