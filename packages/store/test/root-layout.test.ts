import { describe, expect, it } from 'vitest'
import * as A from '@automerge/automerge'
import { isValidAutomergeUrl } from '@automerge/automerge-repo'
import {
  ClinicStore,
  LAYOUT,
  TEXT_ROOT_LAYOUT,
  isClinicRoot,
  rootLayout,
  type ClinicRootDoc,
} from '@clinic-mesh/store'
import { summarizeNamed } from './named-chart.js'
import { twoRepos } from './two-repos.js'
import { newClinic } from './new-clinic.js'

interface Bucket {
  charts: { [id: string]: { given: string; family: string; notes: string } }
}

const init = { summarize: summarizeNamed }

describe('the clinic root (layout 2: its URLs as scalars)', () => {
  it("a new clinic's root holds each URL as one op, not a character each", () => {
    const { a } = twoRepos()
    const store = newClinic<Bucket>(a(), { expectedCharts: 10_000, ...init })
    const root = store.layout
    expect(root.layout).toBe(LAYOUT)
    expect(root.chartBuckets).toHaveLength(1024)
    expect(root.chartBuckets.every((u) => isValidAutomergeUrl(u))).toBe(true)
    expect(store.documentUrls()).toHaveLength(1 + 16 + 1024)
  })

  it('is small to sync: ~1 op per URL (a text root of 1,024 buckets was ~40,000)', async () => {
    const link = twoRepos()
    const ra = link.a()
    const store = newClinic<Bucket>(ra, { expectedCharts: 10_000, ...init })
    const h = await ra.find<ClinicRootDoc>(store.rootUrl)
    const ops = A.stats(h.doc()).numOps
    expect(ops).toBeLessThan(2 * (1024 + 16))
    expect(h.doc().chartBuckets.every((u) => A.isImmutableString(u))).toBe(true)
    await ra.shutdown()
  })

  it('a second device opens it, searches, reads and writes charts', async () => {
    const link = twoRepos()
    const [ra, rb] = [link.a(), link.b()]
    const a = newClinic<Bucket>(ra, { indexShards: 4, chartBuckets: 8, ...init })
    for (let i = 0; i < 20; i++)
      await a.change(
        `pt${i}`,
        (d) => void (d.charts[`pt${i}`] = { given: `G${i}`, family: 'Banda', notes: '' }),
      )
    const b = await ClinicStore.open<Bucket>(rb, a.rootUrl, init)
    rb.sharePolicy = b.sharePolicy
    expect(b.layout.chartBuckets).toEqual(a.layout.chartBuckets)
    expect(b.layout.chartBuckets.every((u) => typeof u === 'string')).toBe(true)
    expect(b.index.size).toBe(20)
    expect((await b.chart<{ given: string }>('pt7')).given).toBe('G7')
    await b.change('pt7', (d) => void (d.charts['pt7']!.notes = 'seen'))
    expect((await b.chart<{ notes: string }>('pt7')).notes).toBe('seen')
    await ra.shutdown()
    await rb.shutdown()
  })

  it('a root made before (layout 1, URLs as text) still opens, onto the same documents', async () => {
    const link = twoRepos()
    const [ra, rb] = [link.a(), link.b()]
    const a = newClinic<Bucket>(ra, { indexShards: 2, chartBuckets: 4, ...init })
    await a.change('pt1', (d) => void (d.charts['pt1'] = { given: 'Old', family: 'Root', notes: '' }))
    const l = a.layout
    // what a clinic made before layout 2 holds: plain strings (Automerge text)
    const old = ra.create<ClinicRootDoc>({
      layout: TEXT_ROOT_LAYOUT,
      clinic: l.clinic,
      createdAt: l.createdAt,
      indexShards: [...l.indexShards],
      chartBuckets: [...l.chartBuckets],
    })
    expect(typeof old.doc().chartBuckets[0]).toBe('string')
    expect(isClinicRoot(old.doc())).toBe(true)
    expect(rootLayout(old.doc()).chartBuckets).toEqual(l.chartBuckets)
    const b = await ClinicStore.open<Bucket>(rb, old.url, init)
    expect(b.layout.layout).toBe(TEXT_ROOT_LAYOUT)
    expect(b.layout.chartBuckets).toEqual(l.chartBuckets)
    expect(b.search('root').map((p) => p.id)).toEqual(['pt1'])
    expect((await b.chart<{ given: string }>('pt1')).given).toBe('Old')
    await ra.shutdown()
    await rb.shutdown()
  })

  it('refuses a root of a layout it does not know (a newer one) with LayoutError, rather than misread it', async () => {
    const link = twoRepos()
    const ra = link.a()
    const a = newClinic<Bucket>(ra, { indexShards: 2, chartBuckets: 4, ...init })
    const newer = ra.create({ ...a.layout, layout: 'clinic-mesh/layout/3' })
    await expect(ClinicStore.open(ra, newer.url, init)).rejects.toMatchObject({ name: 'LayoutError' })
    // a device of the version before this one checked `layout === 'clinic-mesh/layout/1'` alone: it refuses ours
    expect(LAYOUT).not.toBe(TEXT_ROOT_LAYOUT)
    await ra.shutdown()
  })
})
