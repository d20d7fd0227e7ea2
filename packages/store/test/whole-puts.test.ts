import { afterEach, describe, expect, it } from 'vitest'
import * as A from '@automerge/automerge'
import { Repo, type DocHandle, type DocHandleChangePayload } from '@automerge/automerge-repo'
import type { DeviceId, PatientId, UserId } from '@clinic-mesh/contracts'
import {
  emptyCollection,
  newChart,
  recordAllergy,
  str,
  summarize,
  updateDemographics,
  type Actor,
  type Chart,
  type ChartCollection,
} from '@clinic-mesh/records'
import { ClinicStore, putWhole, wholePutCount, type BulkWrite } from '@clinic-mesh/store'
import { setWholePuts } from '../src/pinned/whole-puts.js'

const clerk: Actor = {
  user: 'usr_clerk' as UserId,
  device: 'dev_desk' as DeviceId,
  at: '2026-12-06T10:00:00Z',
}
const nurse: Actor = {
  user: 'usr_nurse' as UserId,
  device: 'dev_ward' as DeviceId,
  at: '2026-12-06T11:00:00Z',
}

const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v))

/** The same 40 charts every time (ids and stamps fixed), with an identifier each. */
function charts(): { id: PatientId; chart: Chart }[] {
  return Array.from({ length: 40 }, (_, i) =>
    newChart(
      {
        id: `pt_${String(i).padStart(3, '0')}` as PatientId,
        given: `Given${i}`,
        family: `Family${i}`,
        birthDate: '1980-02-03',
        sex: i % 2 ? 'female' : 'male',
        identifiers: [{ system: 'urn:test:registry', value: `REG-${i}` }],
      },
      clerk,
    ),
  )
}

/** A store of 4 buckets in a repo of its own (one actor: every run writes the same operations). */
function store(): { repo: Repo; store: ClinicStore<ChartCollection> } {
  const repo = new Repo({ network: [] })
  const s = ClinicStore.create<ChartCollection>(repo, {
    clinic: 'whole-puts',
    emptyBucket: emptyCollection,
    summarize: (b, id) => (b.charts[id] ? summarize(b.charts[id]) : undefined),
    chartBuckets: 4,
    indexShards: 2,
  })
  return { repo, store: s }
}

/** Registrations as a bulk import makes them: `fn` assigns the chart, `fresh` offers it whole. */
function writes(whole: boolean): BulkWrite<ChartCollection>[] {
  return charts().map(({ id, chart }) => ({
    patientId: id,
    fn: (d) => void (d.charts[id] = chart),
    ...(whole ? { fresh: () => chart } : {}),
  }))
}

/** Every map of `o` (path → Automerge object id), depth first. */
function objectIds(o: unknown, path = ''): Record<string, string | null> {
  if (typeof o !== 'object' || o === null || A.isImmutableString(o)) return {}
  const out: Record<string, string | null> = { [path || '/']: A.getObjectId(o) }
  for (const [k, v] of Object.entries(o)) Object.assign(out, objectIds(v, `${path}/${k}`))
  return out
}

const bucketsOf = async (s: ClinicStore<ChartCollection>): Promise<DocHandle<ChartCollection>[]> =>
  Promise.all(charts().map(({ id }) => s.bucketFor(id)))

afterEach(() => setWholePuts(true))

describe("a bulk write's new charts are put whole (pinned/whole-puts.ts)", () => {
  it('build the document Automerge builds through patches: values, object ids, a reload, later changes', async () => {
    const whole = store()
    const patched = store()
    const before = wholePutCount()
    const first = await whole.store.bucketFor('pt_000')
    const put: DocHandleChangePayload<ChartCollection>[] = []
    first.on('change', (p) => put.push(p))
    await whole.store.changeMany(writes(true))
    expect(wholePutCount()).toBe(before + 4) // one change per bucket took the path
    // its change event puts each new chart whole
    const mineIds = Object.keys(first.doc().charts).sort()
    expect(put).toHaveLength(1)
    expect(put[0]!.patches.map((p) => [p.action, p.path.join('/')])).toEqual(
      mineIds.map((id) => ['put', `charts/${id}`]),
    )
    expect(plain(put[0]!.patches.map((p) => (p as { value?: unknown }).value))).toEqual(
      plain(mineIds.map((id) => first.doc().charts[id])),
    )
    setWholePuts(false)
    await patched.store.changeMany(writes(true))
    expect(wholePutCount()).toBe(before + 4)

    const mine = await bucketsOf(whole.store)
    const theirs = await bucketsOf(patched.store)
    for (const [i, h] of mine.entries()) {
      const doc = h.doc()
      const reloaded = A.load<ChartCollection>(A.save(doc))
      expect(plain(doc)).toEqual(plain(theirs[i]!.doc()))
      expect(plain(doc)).toEqual(plain(reloaded))
      // every map carries the object id the reloaded document gives it (Automerge's proxies and patches need them)
      expect(objectIds(doc)).toEqual(objectIds(reloaded))
      // and the document's state, as Automerge's own copies do (its proxies tell the document's objects by it)
      const state = (o: object): unknown => (o as Record<symbol, unknown>)[Symbol.for('_am_meta')]
      for (const c of Object.values(doc.charts)) expect(state(c.patient.name)).toBe(state(doc))
    }
    expect(whole.store.search('Given7')[0]?.id).toBe('pt_007')

    // a later change goes through patches on the built document, naming only what it changed
    const events: DocHandleChangePayload<ChartCollection>[] = []
    const h = await whole.store.bucketFor('pt_007')
    h.on('change', (p) => events.push(p))
    await whole.store.change('pt_007', (d) => {
      updateDemographics(d.charts['pt_007']!, { family: 'Banda' }, nurse)
    })
    expect(events.map((e) => e.patches.map((p) => p.path.join('/')).sort())).toEqual([
      ['charts/pt_007/patient/name/family', 'charts/pt_007/patient/updatedAt'],
    ])
    expect(str(h.doc().charts['pt_007']!.patient.name.family)).toBe('Banda')
    expect(plain(h.doc())).toEqual(plain(A.load(A.save(h.doc()))))
    expect(whole.store.search('Banda')[0]?.id).toBe('pt_007')
    await whole.repo.shutdown()
    await patched.repo.shutdown()
  })

  it("merges with another device's concurrent edits as a chart written through patches does", async () => {
    const { repo, store: s } = store()
    await s.changeMany(writes(true))
    const h = await s.bucketFor('pt_003')
    // another device holds the bucket as it was after the import, and edits the same chart meanwhile
    let other = A.load<ChartCollection>(A.save(h.doc()))
    other = A.change(other, (d) => {
      const c = d.charts['pt_003']!
      recordAllergy(c, { substance: 'penicillin', severity: 'severe' }, nurse)
      updateDemographics(c, { given: 'Amina' }, nurse)
    })
    await s.change('pt_003', (d) => {
      const c = d.charts['pt_003']!
      recordAllergy(c, { substance: 'sulfa', severity: 'mild' }, clerk)
      updateDemographics(c, { family: 'Mwale' }, clerk)
    })
    h.update((d) => A.merge(d, other)) // patches applied onto the document the import built
    const chart = h.doc().charts['pt_003']!
    expect(
      Object.values(chart.patient.allergies)
        .map((a) => str(a.substance))
        .sort(),
    ).toEqual(['penicillin', 'sulfa'])
    expect([str(chart.patient.name.given), str(chart.patient.name.family)]).toEqual(['Amina', 'Mwale'])
    // and it reads the same on both devices
    const merged = A.merge(other, A.load<ChartCollection>(A.save(h.doc())))
    expect(plain(h.doc())).toEqual(plain(merged))
    expect(objectIds(h.doc())).toEqual(objectIds(A.load(A.save(h.doc()))))
    await repo.shutdown()
  })

  it('leaves a patient the bucket holds to its write, and any other change to Automerge', async () => {
    const { repo, store: s } = store()
    await s.changeMany(writes(false))
    const before = wholePutCount()
    const [first] = charts()
    // an import of a patient already held: its write adds to the chart, the fresh chart is not put over it
    await s.changeMany([
      {
        patientId: first!.id,
        fresh: () =>
          newChart(
            { id: first!.id, given: 'Other', family: 'X', birthDate: '1990-01-01', sex: 'male' },
            clerk,
          ).chart,
        fn: (d) => void recordAllergy(d.charts[first!.id]!, { substance: 'latex', severity: 'mild' }, clerk),
      },
    ])
    expect(wholePutCount()).toBe(before)
    const chart = (await s.bucketFor(first!.id)).doc().charts[first!.id]!
    expect(str(chart.patient.name.given)).toBe('Given0')
    expect(Object.values(chart.patient.allergies).map((a) => str(a.substance))).toEqual(['latex'])

    // putWhole of a key the map holds: Automerge's own path (the document is still right)
    const h = await s.bucketFor(first!.id)
    putWhole(h, 'charts', [[first!.id, charts()[0]!.chart]])
    expect(wholePutCount()).toBe(before)
    expect(plain(h.doc())).toEqual(plain(A.load(A.save(h.doc()))))
    await repo.shutdown()
  })
})
