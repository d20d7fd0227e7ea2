import { ImmutableString, type Doc } from '@automerge/automerge'
import type { DocHandle, Repo } from '@automerge/automerge-repo'
import type { BucketDoc } from './bucket-doc.js'
import type { BulkWrite, ClinicStore } from './clinic-store.js'
import { ARCHIVE_SHARDS, shardOf, type ArchiveDoc } from './layout.js'

/** One visit moving from a chart to its year's archive: a plain copy of it (records' `archivableVisits`). */
export interface VisitToArchive {
  encounterId: string
  year: number
  encounter: unknown
}

/** What archiving needs of the records model (records: `archivableVisits`, `leaveStubs`, `needsStub`). */
export interface ArchivePolicy<B extends BucketDoc> {
  /** The visits of one chart to archive now. */
  pick(bucket: Doc<B>, patientId: string): VisitToArchive[]
  /** Inside the bucket's change: leave stubs of `visits` on the chart and remove the visits (idempotent). */
  stub(bucket: B, patientId: string, visits: VisitToArchive[]): void
  /** Whether the chart still holds this archived visit in full, or lacks its stub (a repair is due). */
  needsStub(bucket: Doc<B>, patientId: string, encounterId: string): boolean
  /** Whether the chart holds this visit in full. */
  holds(bucket: Doc<B>, patientId: string, encounterId: string): boolean
}

export interface ArchiveReport {
  /** Visits copied to an archive document and removed from their chart by this pass. */
  moved: number
  /** Archived visits whose chart still held them or lacked their stub (a pass cut short, or a concurrent one). */
  repaired: number
  years: number[]
}

/**
 * One archiving pass (issue 17 #3), run by device nodes that hold every year: each chart's closed visits of past
 * years (`policy.pick`) are written into the archive document of their year (keyed by encounter id: two devices
 * archiving the same visit at once write the same key, one value wins, nothing doubles), the archive documents are
 * saved, and only then the charts lose the visits and keep stubs. Then every archive document this device has in
 * memory (written by this pass, or pulled at its join) is checked against the charts: a visit still on its chart (and
 * archivable by the rule), or without its stub, is stubbed again. The pass is
 * idempotent; a pass cut short anywhere leaves every visit in its chart, its archive, or both, never neither.
 */
export async function archiveClosedVisits<B extends BucketDoc>(
  store: ClinicStore<B>,
  policy: ArchivePolicy<B>,
  repo: Repo,
): Promise<ArchiveReport> {
  const shelf = store.archives
  const picked = new Map<string, VisitToArchive[]>()
  const byDoc = new Map<string, { year: number; n: number; items: [string, VisitToArchive][] }>()
  for (let i = 0; i < store.layout.chartBuckets.length; i++) {
    const doc = (await store.bucketAt(i)).doc()
    for (const pid of Object.keys(doc.charts)) {
      const visits = policy.pick(doc, pid)
      if (visits.length === 0) continue
      picked.set(pid, visits)
      const n = shardOf(pid, ARCHIVE_SHARDS)
      for (const v of visits) {
        const key = `${v.year}/${n}`
        let d = byDoc.get(key)
        if (!d) byDoc.set(key, (d = { year: v.year, n, items: [] }))
        d.items.push([pid, v])
      }
    }
  }
  const written: DocHandle<ArchiveDoc>[] = []
  for (const { year, n, items } of byDoc.values()) {
    const h = await shelf.forWriting(year, n)
    h.change((d) => {
      for (const [pid, v] of items)
        if (d.visits[v.encounterId] === undefined)
          d.visits[v.encounterId] = { patientId: new ImmutableString(pid), encounter: v.encounter }
    })
    written.push(h)
  }
  // every document the root lists for a year exists (empty ones too): a device pulling the year finds all of them
  for (const year of new Set([...byDoc.values()].map((d) => d.year)))
    for (let n = 0; n < ARCHIVE_SHARDS; n++)
      if (!byDoc.has(`${year}/${n}`)) written.push(await shelf.forWriting(year, n))
  await repo.flush(written.map((h) => h.documentId))
  const writes: BulkWrite<B>[] = [...picked].map(([pid, visits]) => ({
    patientId: pid,
    fn: (b) => policy.stub(b, pid, visits),
  }))
  if (writes.length > 0) await store.changeMany(writes, { message: 'archive closed visits' })
  const repaired = await repairStubs(store, policy)
  const years = [...new Set([...byDoc.values()].map((d) => d.year))].sort()
  for (const y of shelf.years()) shelf.list(y) // a concurrent first listing may have lost a year
  return { moved: [...picked.values()].reduce((s, v) => s + v.length, 0), repaired, years }
}

/** Stubs again every visit of the local archive documents that its chart still holds or has no stub of. */
async function repairStubs<B extends BucketDoc>(
  store: ClinicStore<B>,
  policy: ArchivePolicy<B>,
): Promise<number> {
  const due = new Map<string, VisitToArchive[]>()
  for (const h of await store.archives.localDocs()) {
    const doc = h.doc()
    for (const [eid, entry] of Object.entries(doc.visits)) {
      const pid = entry.patientId.val
      const bucket = (await store.bucketFor(pid)).doc()
      if (bucket.charts[pid] === undefined || !policy.needsStub(bucket, pid, eid)) continue
      // an archive entry never takes a visit off a chart the rule would keep (an open one, one of this year): no
      // document trusts its writer
      if (policy.holds(bucket, pid, eid) && !policy.pick(bucket, pid).some((v) => v.encounterId === eid))
        continue
      let list = due.get(pid)
      if (!list) due.set(pid, (list = []))
      list.push({ encounterId: eid, year: doc.year, encounter: entry.encounter })
    }
  }
  const writes: BulkWrite<B>[] = [...due].map(([pid, visits]) => ({
    patientId: pid,
    fn: (b) => policy.stub(b, pid, visits),
  }))
  if (writes.length > 0) await store.changeMany(writes, { message: 'archive: repair stubs' })
  return [...due.values()].reduce((s, v) => s + v.length, 0)
}
