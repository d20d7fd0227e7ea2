import { describe, expect, it } from 'vitest'
import type { DocumentId, PeerId, Repo } from '@automerge/automerge-repo'
import { MemoryStorage } from '@clinic-mesh/testing'
import { ClinicStore } from '@clinic-mesh/store'
import { summarizeNamed } from './named-chart.js'
import { twoRepos } from './two-repos.js'
import { newClinic } from './new-clinic.js'

interface VisitBucket {
  charts: { [id: string]: { given: string; family: string; visits: { [eid: string]: string } } }
}

/** The device clock of these tests: 10:00 local time on 6 December 2026; each open visit arrived at 8:00. */
const NOW = new Date(2026, 11, 6, 10, 0)
const TODAY_8AM = new Date(2026, 11, 6, 8, 0).toISOString()
const today = { arrivals: (packed: string) => [packed], now: () => NOW }
const openVisits = (b: VisitBucket, id: string): string | undefined =>
  Object.values(b.charts[id]?.visits ?? {})[0]

/** How many of today's patients, each in a bucket of their own (more than the 8 a pull of small buckets asks at once). */
const TODAY = 12

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now()
  // requests arrive as events: wait on the event loop turning, not on a fixed sleep
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setImmediate(r))
  }
}

/**
 * A clinic of 200 charts in 64 buckets on repo a, `TODAY` of them with a visit open today (each in its own bucket),
 * whose answers to requests for those buckets wait until the test lets each go (`answer`); and a tablet joining it
 * (repo b, on `storage`), its open resolved from today's document.
 */
async function joining(storage: MemoryStorage): Promise<{
  ra: Repo
  rb: Repo
  b: ClinicStore<VisitBucket>
  todayIds: DocumentId[]
  asked: Set<DocumentId>
  answer: (ids: Iterable<DocumentId>) => void
}> {
  const link = twoRepos()
  const ra = link.a()
  const a = newClinic<VisitBucket>(ra, {
    summarize: summarizeNamed,
    openVisits,
    today,
    chartBuckets: 64,
    indexShards: 2,
  })
  const byBucket = new Map<number, string>()
  for (let i = 0; byBucket.size < TODAY; i++)
    if (!byBucket.has(a.bucketIndexOf(`p${i}`))) byBucket.set(a.bucketIndexOf(`p${i}`), `p${i}`)
  const open = new Set(byBucket.values())
  await a.changeMany(
    Array.from({ length: 200 }, (_, i) => ({
      patientId: `p${i}`,
      fn: (d: VisitBucket) =>
        void (d.charts[`p${i}`] = {
          ...{ given: `G${i}`, family: 'Phiri' },
          visits: open.has(`p${i}`) ? { [`e${i}`]: TODAY_8AM } : {},
        }),
    })),
  )
  await a.today.open()
  await a.today.settled()
  const todayIds = [...byBucket.keys()].map((i) => a.layout.chartBuckets[i]!.slice(10) as DocumentId)
  const gated = new Set(todayIds)
  const asked = new Set<DocumentId>()
  const gates = new Map<DocumentId, () => void>()
  const answered = new Set<DocumentId>()
  const answer = (ids: Iterable<DocumentId>): void => {
    for (const id of ids) {
      answered.add(id)
      gates.get(id)?.()
    }
  }
  ra.shareConfig = {
    announce: (peer: PeerId, id?: DocumentId) => a.sharePolicy(peer, id),
    access: (_peer: PeerId, id: DocumentId) => {
      if (!gated.has(id)) return Promise.resolve(true)
      if (answered.has(id)) return Promise.resolve(true)
      return new Promise<boolean>((resolve) => gates.set(id, () => resolve(true)))
    },
  }
  // what b asked for (a also consults `access` for every document it holds when a peer arrives: not a request)
  ra.networkSubsystem.on('message', (m) => {
    if (m.type === 'request' && gated.has(m.documentId)) asked.add(m.documentId)
  })
  const rb = link.b({ storage })
  const b = await ClinicStore.open<VisitBucket>(rb, a.rootUrl, {
    summarize: summarizeNamed,
    todayFirst: true,
    today: { now: () => NOW },
  })
  rb.sharePolicy = b.sharePolicy
  expect(b.todayPatients().sort()).toEqual([...open].sort())
  return { ra, rb, b, todayIds, asked, answer }
}

describe('a joining tablet pulls today’s buckets (issue 17 #4, today first)', () => {
  it('asks for every one of today’s buckets at once, not a few at a time', async () => {
    const j = await joining(new MemoryStorage())
    try {
      const pulled = j.b.pullToday()
      try {
        // no answer comes until all of today's buckets were asked for: a pull a few at a time never gets there
        await until(() => j.asked.size === TODAY, `requests for all ${TODAY} of today's buckets`, 5_000)
      } finally {
        j.answer(j.todayIds)
        await pulled
      }
      expect((await pulled).length).toBe(TODAY)
      expect(j.b.loadedBuckets).toBe(TODAY)
    } finally {
      j.answer(j.todayIds)
      await j.b.indexReady // the shards follow today's buckets: a shutdown mid-load rejects (DocHandle not ready)
      await j.rb.shutdown()
      await j.ra.shutdown()
    }
  })

  it('saves today’s buckets once all of them are local, not while the pull runs', async () => {
    const storage = new MemoryStorage()
    const j = await joining(storage)
    const stored = (id: DocumentId): boolean => [...storage.data.keys()].some((k) => k.includes(id))
    try {
      const last = j.todayIds[0]!
      const landed: number[] = []
      const pulled = j.b.pullToday((i) => landed.push(i))
      j.answer(j.todayIds.slice(1)) // all but one land
      await until(() => landed.length === TODAY - 1, 'all but one of today’s buckets local')
      const first = j.todayIds[1]!
      let saved = false
      const flushed = j.rb.flush([first]).then(() => (saved = true))
      // a save that is not held lands within a turn or two (memory storage): give it many
      for (let k = 0; k < 20; k++) await new Promise((r) => setImmediate(r))
      expect(saved).toBe(false)
      expect(j.todayIds.filter(stored)).toEqual([])
      j.answer([last])
      expect((await pulled).length).toBe(TODAY)
      await flushed
      await j.rb.flush(j.todayIds)
      // every one of today's buckets on disk now, whole
      expect(j.todayIds.filter(stored).length).toBe(TODAY)
    } finally {
      j.answer(j.todayIds)
      await j.b.indexReady // the shards follow today's buckets: a shutdown mid-load rejects (DocHandle not ready)
      await j.rb.shutdown()
      await j.ra.shutdown()
    }
  })
})
