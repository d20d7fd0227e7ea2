import { describe, expect, it } from 'vitest'
import * as A from '@automerge/automerge'
import type { DocHandle, DocumentId } from '@automerge/automerge-repo'
import {
  ClinicStore,
  encodeSummary,
  initialToday,
  readTodayEntry,
  todayDocumentId,
  type ClinicStoreInit,
  type TodayDoc,
} from '@clinic-mesh/store'
import { summarizeNamed } from './named-chart.js'
import { twoRepos } from './two-repos.js'
import { newClinic } from './new-clinic.js'

interface VisitChart {
  given: string
  family: string
  /** encounter id → arrival instant and whether it is open */
  visits: { [eid: string]: { at: string; open: boolean } }
}
interface VisitBucket {
  charts: { [id: string]: VisitChart }
}

/** The device clock of these tests: 10:00 local time on 6 December 2026. */
const NOW = new Date(2026, 11, 6, 10, 0)
const TODAY_8AM = new Date(2026, 11, 6, 8, 0).toISOString()
const YESTERDAY_8AM = new Date(2026, 11, 5, 8, 0).toISOString()

/** Open visits packed as records' `encodeOpenVisits` would (sorted, one string), with their arrivals readable. */
const openVisits = (b: VisitBucket, id: string): string | undefined => {
  const open = Object.entries(b.charts[id]?.visits ?? {})
    .filter(([, v]) => v.open)
    .map(([eid, v]) => [eid, v.at])
    .sort()
  return open.length > 0 ? JSON.stringify(open) : undefined
}
const init: ClinicStoreInit<VisitBucket> = {
  summarize: summarizeNamed,
  openVisits,
  today: {
    arrivals: (packed) => (JSON.parse(packed) as [string, string][]).map(([, at]) => at),
    now: () => NOW,
  },
}

const register =
  (id: string, visits: VisitChart['visits'] = {}) =>
  (d: VisitBucket): void =>
    void (d.charts[id] = { given: `G${id}`, family: 'Phiri', visits })

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now()
  // sync messages arrive as events: wait on the event loop turning, not on a fixed sleep
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setImmediate(r))
  }
}

/** A today document's entries as plain strings (each is one `ImmutableString`: one op, not text). */
const entriesOf = (h: DocHandle<TodayDoc>): Record<string, string> =>
  Object.fromEntries(
    Object.entries(h.doc().visits).map(([id, v]) => {
      expect(A.isImmutableString(v)).toBe(true)
      return [id, v.val]
    }),
  )

describe('today documents (issue 17 #4): the day’s open visits in one small document a joining tablet reads first', () => {
  it('holds the patients whose open visit arrived today, with their summary and open visits; one change per registration with a visit, none without', async () => {
    const link = twoRepos()
    const ra = link.a()
    try {
      const a = newClinic<VisitBucket>(ra, { ...init, chartBuckets: 8, indexShards: 2 })
      expect(a.layout.today).toBe('today/1')
      const h = (await a.today.open())!
      expect(h.documentId).toBe(todayDocumentId('c1', '2026-12-06'))
      // today entries are written a moment after the chart (off a registration's path): count once they are
      const changes = async (): Promise<number> => {
        await a.today.settled()
        return A.getAllChanges(h.doc()).length
      }
      const before = await changes()
      await a.change('p1', register('p1', { e1: { at: TODAY_8AM, open: true } }))
      expect(await changes()).toBe(before + 1)
      await a.change('p2', register('p2', { e2: { at: YESTERDAY_8AM, open: true } })) // yesterday's: not today's
      await a.change('p3', register('p3')) // registered, no visit
      await a.change('p3', (d) => void (d.charts['p3']!.family = 'Banda'))
      expect(await changes()).toBe(before + 1)
      const p1 = JSON.stringify([['e1', TODAY_8AM]])
      const summary = encodeSummary(a.search('gp1')[0]!)
      expect(entriesOf(h)).toEqual({ p1: JSON.stringify(['t1', summary, p1]) })
      expect(a.todayPatients()).toEqual(['p1'])
      // a bulk import writes its today entries in one change
      await a.changeMany(
        ['p4', 'p5'].map((id) => ({
          patientId: id,
          fn: register(id, { [`e${id}`]: { at: TODAY_8AM, open: true } }),
        })),
      )
      expect(await changes()).toBe(before + 2)
      expect(a.todayPatients().sort()).toEqual(['p1', 'p4', 'p5'])
      // a closed visit leaves the document
      await a.change('p1', (d) => void (d.charts['p1']!.visits['e1']!.open = false))
      await a.today.settled()
      expect(Object.keys(entriesOf(h)).sort()).toEqual(['p4', 'p5'])
      // every device begins a day's document with the same first change: they merge into one
      expect(initialToday('2026-12-06')).toEqual(initialToday('2026-12-06'))
      expect(todayDocumentId('c1', '2026-12-07')).not.toBe(h.documentId)
    } finally {
      await ra.shutdown()
    }
  })

  it('two devices editing one patient at once end with the same today entry, derived from the merged chart', async () => {
    const link = twoRepos()
    const ra = link.a()
    const rb = link.b()
    try {
      const a = newClinic<VisitBucket>(ra, { ...init, chartBuckets: 1, indexShards: 1, repairDelayMs: 50 })
      await a.change('p1', register('p1', { e1: { at: TODAY_8AM, open: true } }))
      const b = await ClinicStore.open<VisitBucket>(rb, a.rootUrl, { ...init, repairDelayMs: 50 })
      await b.bucketFor('p1')
      const ha = (await a.today.open())!
      const hb = (await b.today.open())!
      await until(() => entriesOf(hb)['p1'] !== undefined, 'b has a’s today entry')
      // concurrently: a opens a second visit today, b renames the patient
      await Promise.all([
        a.change('p1', (d) => void (d.charts['p1']!.visits['e2'] = { at: TODAY_8AM, open: true })),
        b.change('p1', (d) => void (d.charts['p1']!.family = 'Tembo')),
      ])
      const merged = JSON.stringify([
        't1',
        encodeSummary({ ...a.search('gp1')[0]!, family: 'Tembo' }),
        JSON.stringify([
          ['e1', TODAY_8AM],
          ['e2', TODAY_8AM],
        ]),
      ])
      await until(() => entriesOf(ha)['p1'] === merged && entriesOf(hb)['p1'] === merged, 'both converge')
      await Promise.all([a.repairsSettled(), b.repairsSettled()])
      expect(entriesOf(ha)).toEqual({ p1: merged })
      expect(entriesOf(hb)).toEqual({ p1: merged })
    } finally {
      await rb.shutdown()
      await ra.shutdown()
    }
  })

  it('a joining tablet has today’s patients searchable and their buckets local before any index shard arrives', async () => {
    const link = twoRepos()
    const ra = link.a()
    try {
      const a = newClinic<VisitBucket>(ra, { ...init, chartBuckets: 64, indexShards: 4 })
      await a.changeMany(
        Array.from({ length: 200 }, (_, i) => ({
          patientId: `p${i}`,
          fn: register(`p${i}`, i % 50 === 7 ? { [`e${i}`]: { at: TODAY_8AM, open: true } } : {}),
        })),
      )
      await a.today.open()
      await a.today.settled()
      // a holds back its index shards until the test lets them go
      let hold = true
      const shards = new Set(a.layout.indexShards.map((u) => u.slice('automerge:'.length)))
      const held = (id?: DocumentId): boolean => hold && id !== undefined && shards.has(id)
      ra.shareConfig = {
        announce: (peer, id) => (held(id) ? Promise.resolve(false) : a.sharePolicy(peer, id)),
        access: (_peer, id) => Promise.resolve(!held(id)),
      }
      const rb = link.b()
      try {
        const b = await ClinicStore.open<VisitBucket>(rb, a.rootUrl, {
          summarize: summarizeNamed,
          todayFirst: true,
          today: init.today, // the same device clock (NOW): "today" must not follow the machine's date
        })
        rb.sharePolicy = b.sharePolicy
        let indexed = false
        void b.indexReady.then(() => (indexed = true))
        const today = ['p7', 'p57', 'p107', 'p157']
        expect(b.todayPatients().sort()).toEqual([...today].sort())
        expect(b.search('gp57').map((p) => p.id)).toEqual(['p57'])
        expect([...b.openVisits.keys()].sort()).toEqual([...today].sort())
        const buckets = await b.pullToday()
        expect(buckets.sort()).toEqual([...new Set(today.map((p) => b.bucketIndexOf(p)))].sort())
        expect((await b.chart<VisitChart>('p107')).visits['e107']?.open).toBe(true)
        expect(b.loadedBuckets).toBe(buckets.length)
        expect(indexed).toBe(false)
        expect(b.search('gp199')).toEqual([]) // not today's: waits for its shard
        hold = false
        ra.shareConfigChanged()
        await b.indexReady
        expect(b.index.size).toBe(200)
        expect(b.search('gp199').map((p) => p.id)).toEqual(['p199'])
      } finally {
        await rb.shutdown()
      }
    } finally {
      await ra.shutdown()
    }
  })

  it('a clinic made before today documents: a today-first open waits for the shards, as before', async () => {
    const link = twoRepos()
    const ra = link.a()
    const rb = link.b()
    try {
      // a store that writes no today documents (no `arrivals`) in a root without the field
      const a = newClinic<VisitBucket>(ra, {
        summarize: summarizeNamed,
        openVisits,
        chartBuckets: 4,
        indexShards: 2,
      })
      ra.sharePolicy = a.sharePolicy
      ;(await ra.find<{ today?: string }>(a.rootUrl)).change((d) => void delete d.today)
      await a.change('p1', register('p1', { e1: { at: TODAY_8AM, open: true } }))
      const b = await ClinicStore.open<VisitBucket>(rb, a.rootUrl, {
        summarize: summarizeNamed,
        todayFirst: true,
      })
      expect(b.todayPatients()).toEqual([])
      expect(b.index.size).toBe(1)
      expect([...b.openVisits.keys()]).toEqual(['p1'])
    } finally {
      await rb.shutdown()
      await ra.shutdown()
    }
  })

  it('reads no malformed entry (whoever wrote it): wrong format, not a summary, not a string, oversized', () => {
    const s = encodeSummary({
      id: 'p1',
      given: 'A',
      family: 'B',
      birthDate: '2000-01-01',
      sex: 'unknown',
      identifiers: [],
      updatedAt: '',
    })
    expect(readTodayEntry('p1', JSON.stringify(['t1', s, '[]']))).toEqual({ summary: s, visits: '[]' })
    expect(readTodayEntry('p1', new A.ImmutableString(JSON.stringify(['t1', s, '[]'])))).toEqual({
      summary: s,
      visits: '[]',
    })
    expect(readTodayEntry('p1', JSON.stringify(['t2', s, '[]']))).toBeUndefined()
    expect(readTodayEntry('p1', JSON.stringify(['t1', 'garbage', '[]']))).toBeUndefined()
    expect(readTodayEntry('p1', JSON.stringify(['t1', s, 3]))).toBeUndefined()
    expect(readTodayEntry('p1', '{')).toBeUndefined()
    expect(readTodayEntry('p1', 42)).toBeUndefined()
    expect(readTodayEntry('p1', JSON.stringify(['t1', s, 'x'.repeat(20_000)]))).toBeUndefined()
  })
})
