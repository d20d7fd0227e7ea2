import { describe, expect, it } from 'vitest'
import * as A from '@automerge/automerge'
import { Repo, type DocHandle, type PeerId } from '@automerge/automerge-repo'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MessageChannelNetworkAdapter } from '@automerge/automerge-repo-network-messagechannel'
import type { ChartCollection } from '@clinic-mesh/records'
import {
  ARCHIVE_SHARDS,
  ClinicStore,
  archiveClosedVisits,
  archiveDocumentId,
  initialArchive,
  shardOf,
  type ArchiveDoc,
} from '@clinic-mesh/store'
import { NOW, emptyBucket, historyChart, policy, summarizeOf, type TestVisit } from './history-chart.js'

const init = { summarize: summarizeOf, history: { now: () => NOW } }

/** Visits of patient `p`: old closed ones (archived), an old open one, a recent one, one of this year. */
function visitsOf(p: number): TestVisit[] {
  return [
    { id: `e${p}-2022`, opened: '2022-03-01T09:00:00Z', closed: '2022-03-01T11:00:00Z' },
    { id: `e${p}-2024`, opened: '2024-06-01T09:00:00Z', closed: '2024-06-02T11:00:00Z' },
    { id: `e${p}-open`, opened: '2023-05-01T09:00:00Z' },
    { id: `e${p}-recent`, opened: '2025-12-28T09:00:00Z', closed: '2025-12-29T10:00:00Z' },
    { id: `e${p}-now`, opened: '2026-01-05T09:00:00Z', closed: '2026-01-05T10:00:00Z' },
  ]
}

/** Repos connected in a chain by MessageChannels, each with its store's share policy (`use`). */
function linked(
  names: string[],
  storage: Record<string, NodeFSStorageAdapter> = {},
): Repo[] & { use: (repo: Repo, store: ClinicStore<ChartCollection>) => void } {
  const repos: Repo[] = []
  const policies = new Map<Repo, ClinicStore<ChartCollection>['sharePolicy']>()
  const adapters: MessageChannelNetworkAdapter[][] = names.map(() => [])
  for (let i = 0; i + 1 < names.length; i++) {
    const { port1, port2 } = new MessageChannel()
    adapters[i]!.push(new MessageChannelNetworkAdapter(port1))
    adapters[i + 1]!.push(new MessageChannelNetworkAdapter(port2))
  }
  names.forEach((name, i) => {
    const repo: Repo = new Repo({
      network: adapters[i]!,
      ...(storage[name] ? { storage: storage[name] } : {}),
      peerId: name as PeerId,
      sharePolicy: (peer, doc) => policies.get(repo)?.(peer, doc) ?? Promise.resolve(true),
    })
    repos.push(repo)
  })
  return Object.assign(repos, {
    use: (repo: Repo, store: ClinicStore<ChartCollection>) => policies.set(repo, store.sharePolicy),
  })
}

async function until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function founded(repo: Repo, patients: number): Promise<ClinicStore<ChartCollection>> {
  const store = ClinicStore.create<ChartCollection>(repo, {
    clinic: 'c-history',
    emptyBucket,
    indexShards: 2,
    chartBuckets: 4,
    ...init,
  })
  await store.changeMany(
    Array.from({ length: patients }, (_, p) => ({
      patientId: `pt${p}`,
      fn: (d: ChartCollection) => historyChart(d, `pt${p}`, `Family${p}`, visitsOf(p)),
    })),
  )
  return store
}

/** Every visit of the clinic as (where it is): 'chart', 'archive' or both, over every chart and local archive. */
async function placesOf(store: ClinicStore<ChartCollection>): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>()
  const add = (eid: string, where: string): void => void out.set(eid, [...(out.get(eid) ?? []), where])
  for (let i = 0; i < store.layout.chartBuckets.length; i++) {
    const doc = (await store.bucketAt(i)).doc()
    for (const chart of Object.values(doc.charts)) {
      for (const eid of Object.keys(chart.encounters)) add(eid, 'chart')
      for (const eid of Object.keys(chart.archived ?? {})) add(eid, 'stub')
    }
  }
  for (const h of await store.archives.localDocs())
    for (const eid of Object.keys(h.doc().visits)) add(eid, `archive:${h.doc().year}`)
  return out
}

describe('history window: archive documents of closed visits (issue 17 #3)', () => {
  it('archive documents have derived ids and the same first change on every device', () => {
    const id = archiveDocumentId('c1', 2024, 3)
    expect(archiveDocumentId('c1', 2024, 3)).toBe(id)
    expect(archiveDocumentId('c1', 2024, 4)).not.toBe(id)
    expect(archiveDocumentId('c2', 2024, 3)).not.toBe(id)
    expect(initialArchive(2024, 3)).toEqual(initialArchive(2024, 3))
    expect(A.getHeads(A.load(initialArchive(2024, 3)))).toEqual(A.getHeads(A.load(initialArchive(2024, 3))))
  })

  it('moves exactly the closed visits of past years closed 30+ days ago, leaving stubs; open, recent and this year stay', async () => {
    const [ra] = linked(['a'])
    const a = await founded(ra!, 12)
    const report = await archiveClosedVisits(a, policy, ra!)
    expect(report.moved).toBe(24)
    expect(report.years).toEqual([2022, 2024])
    const places = await placesOf(a)
    for (let p = 0; p < 12; p++) {
      expect(places.get(`e${p}-2022`)).toEqual(['stub', 'archive:2022'])
      expect(places.get(`e${p}-2024`)).toEqual(['stub', 'archive:2024'])
      for (const stays of ['open', 'recent', 'now']) expect(places.get(`e${p}-${stays}`)).toEqual(['chart'])
    }
    const chart = await a.chart<ChartCollection['charts'][string]>('pt3')
    expect(chart.archived?.['e3-2024']?.year).toBe(2024)
    expect(chart.archived?.['e3-2024']?.reason?.val).toBe('visit e3-2024')
    // the archived visit is whole in its archive document
    const entry = await a.archives.visit(2024, 'pt3', 'e3-2024')
    expect(entry?.patientId.val).toBe('pt3')
    expect((entry?.encounter as { status: { val: string } }).status.val).toBe('closed')
    // the root lists both years, 16 documents each, with the derived ids
    expect(a.layout.archives?.['2024']).toHaveLength(ARCHIVE_SHARDS)
    expect(a.layout.archives?.['2024']?.[5]).toBe(`automerge:${archiveDocumentId('c-history', 2024, 5)}`)
    // an archive entry naming a visit the rule keeps (open, this year) never takes it off its chart
    const forged = await a.archives.forWriting(2022, shardOf('pt3', ARCHIVE_SHARDS))
    forged.change((d) => {
      for (const eid of ['e3-open', 'e3-now'])
        d.visits[eid] = { patientId: new A.ImmutableString('pt3'), encounter: { status: 'closed' } }
    })
    const repaired = await archiveClosedVisits(a, policy, ra!)
    expect(repaired.moved).toBe(0)
    expect(Object.keys((await a.chart<ChartCollection['charts'][string]>('pt3')).encounters).sort()).toEqual([
      'e3-now',
      'e3-open',
      'e3-recent',
    ])
    forged.change((d) => {
      delete d.visits['e3-open']
      delete d.visits['e3-now']
    })
    // a stub lost (as a concurrent first pass may lose one) comes back from the archive
    await a.change('pt5', (d) => void delete d.charts['pt5']!.archived!['e5-2022'])
    expect((await archiveClosedVisits(a, policy, ra!)).repaired).toBe(1)
    expect((await a.chart<ChartCollection['charts'][string]>('pt5')).archived?.['e5-2022']?.year).toBe(2022)
    // a second pass changes nothing
    const heads = (await a.bucketAt(0)).heads()
    expect(await archiveClosedVisits(a, policy, ra!)).toEqual({ moved: 0, repaired: 0, years: [] })
    expect((await a.bucketAt(0)).heads()).toEqual(heads)
    await ra!.shutdown()
  })

  it('two devices archiving at once converge on one copy of each visit, none lost', async () => {
    const repos = linked(['a', 'b'])
    const [ra, rb] = repos
    const a = await founded(ra!, 30)
    repos.use(ra!, a)
    const b = await ClinicStore.open<ChartCollection>(rb!, a.rootUrl, init)
    repos.use(rb!, b)
    await b.loadAllCharts()
    await until(() => b.index.size === 30, 'b holds every chart')
    const [ma, mb] = await Promise.all([
      archiveClosedVisits(a, policy, ra!),
      archiveClosedVisits(b, policy, rb!),
    ])
    expect(ma.moved).toBeGreaterThan(0)
    expect(mb.moved).toBeGreaterThan(0)
    // both hold every year (archiveFrom 0): they announce their archives to each other
    await Promise.all([a.archives.pullWindow(), b.archives.pullWindow()])
    const same = async (): Promise<boolean> => {
      for (const year of [2022, 2024])
        for (let n = 0; n < ARCHIVE_SHARDS; n++) {
          const [x, y] = await Promise.all([a.archives.open(year, n), b.archives.open(year, n)])
          if (x.heads()?.join() !== y.heads()?.join()) return false
        }
      for (let i = 0; i < 4; i++)
        if ((await a.bucketAt(i)).heads()?.join() !== (await b.bucketAt(i)).heads()?.join()) return false
      return true
    }
    const deadline = Date.now() + 15_000
    while (!(await same())) {
      if (Date.now() > deadline) throw new Error('a and b never converged')
      await new Promise((r) => setTimeout(r, 50))
    }
    // one more pass (as the next periodic one) repairs whatever a concurrent first pass left, then all agree
    await archiveClosedVisits(a, policy, ra!)
    for (const store of [a, b]) {
      const deadline2 = Date.now() + 15_000
      for (;;) {
        const places = await placesOf(store)
        const ok = Array.from({ length: 30 }, (_, p) => p).every(
          (p) =>
            places.get(`e${p}-2022`)?.join() === 'stub,archive:2022' &&
            places.get(`e${p}-2024`)?.join() === 'stub,archive:2024' &&
            places.get(`e${p}-open`)?.join() === 'chart' &&
            places.get(`e${p}-now`)?.join() === 'chart',
        )
        if (ok) break
        if (Date.now() > deadline2)
          throw new Error(`${String(store === a ? 'a' : 'b')} lost or doubled a visit`)
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    const doc = (await a.archives.open(2024, shardOf('pt7', ARCHIVE_SHARDS))).doc()
    expect(Object.keys(doc.visits).filter((e) => e === 'e7-2024')).toHaveLength(1)
    await ra!.shutdown()
    await rb!.shutdown()
  })

  it('a device with a 1-year window holds no older archive, finds every patient, and fetches an archived visit from a peer', async () => {
    const repos = linked(['full', 'tablet'])
    const [ra, rt] = repos
    const a = await founded(ra!, 40)
    repos.use(ra!, a)
    await archiveClosedVisits(a, policy, ra!)
    await a.archives.pullWindow()
    expect(a.layout.archiveFrom?.['full']).toBe(0)
    const t = await ClinicStore.open<ChartCollection>(rt!, a.rootUrl, {
      summarize: summarizeOf,
      history: { historyYears: 1, now: () => NOW },
    })
    repos.use(rt!, t)
    await t.loadAllCharts()
    expect(await t.archives.pullWindow()).toBe(0)
    await until(() => t.layout.archiveFrom?.['tablet'] === 2026, 'the tablet says what it holds')
    // every patient is searchable and their chart lists the archived visits
    expect(t.index.size).toBe(40)
    expect(t.search('family17').map((s) => s.id)).toEqual(['pt17'])
    const chart = await t.chart<ChartCollection['charts'][string]>('pt17')
    expect(Object.keys(chart.archived ?? {}).sort()).toEqual(['e17-2022', 'e17-2024'])
    // a change to an archive after the tablet joined is still not pushed to it
    const h = await a.archives.open(2022, 0)
    h.change((d) => void (d.visits['late'] = { patientId: new A.ImmutableString('ptx'), encounter: {} }))
    // a later change that does reach the tablet: anything announced before it has arrived too
    await a.change(
      'pt1',
      (d) => void (d.charts['pt1']!.patient.name.family = new A.ImmutableString('Probe') as never),
    )
    const [pa, pt] = await Promise.all([a.bucketFor('pt1'), t.bucketFor('pt1')])
    await until(() => pt.heads()?.join() === pa.heads()?.join(), 'the probe change reached the tablet')
    const archiveIds = new Set(
      [2022, 2024].flatMap((y) =>
        Array.from({ length: ARCHIVE_SHARDS }, (_, n) => archiveDocumentId('c-history', y, n)),
      ),
    )
    const heldArchives = (): string[] =>
      Object.entries(rt!.handles)
        .filter(([id, hd]) => archiveIds.has(id as never) && (hd as DocHandle<ArchiveDoc>).isReady())
        .map(([id]) => id)
    expect(heldArchives()).toEqual([])
    expect(t.archives.whereabouts(2024, 'pt17')).toBe('elsewhere')
    expect(t.archives.holdersOf(2024)).toEqual(['full'])
    // opening the archived visit fetches its archive document from the peer
    const entry = await t.archives.visit(2024, 'pt17', 'e17-2024', AbortSignal.timeout(10_000))
    expect((entry?.encounter as { id: { val: string } }).id.val).toBe('e17-2024')
    expect(t.archives.whereabouts(2024, 'pt17')).toBe('here')
    expect(heldArchives()).toEqual([archiveDocumentId('c-history', 2024, shardOf('pt17', ARCHIVE_SHARDS))])
    await ra!.shutdown()
    await rt!.shutdown()
  })

  it('a device that pulls every year with release keeps the archives on disk, not in memory, and reads them from there', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'store-archive-release-'))
    const repos = linked(['full', 'joiner'], { joiner: new NodeFSStorageAdapter(dir) })
    const [ra, rj] = repos
    const a = await founded(ra!, 20)
    repos.use(ra!, a)
    await archiveClosedVisits(a, policy, ra!)
    const j = await ClinicStore.open<ChartCollection>(rj!, a.rootUrl, init)
    repos.use(rj!, j)
    await j.loadAllCharts()
    expect(await j.archives.pullWindow(4, { release: true })).toBe(2 * ARCHIVE_SHARDS)
    const id = archiveDocumentId('c-history', 2024, shardOf('pt9', ARCHIVE_SHARDS))
    expect(j.archives.isLocal(id)).toBe(false)
    expect(rj!.handles[id]).toBeUndefined()
    expect(j.layout.archiveFrom?.['joiner']).toBe(0)
    await ra!.shutdown() // the peer is gone: only the joiner's disk has the archive now
    const entry = await j.archives.visit(2024, 'pt9', 'e9-2024', AbortSignal.timeout(10_000))
    expect((entry?.encounter as { id: { val: string } }).id.val).toBe('e9-2024')
    // and it can write to a released archive (its stored visits stay)
    const h = await j.archives.forWriting(2024, shardOf('pt9', ARCHIVE_SHARDS))
    expect(h.doc().visits['e9-2024']).toBeDefined()
    await rj!.shutdown()
    await rm(dir, { recursive: true, force: true })
  })
})
