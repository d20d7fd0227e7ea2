import { createRequire } from 'node:module'
import { patientAt, plainChart } from './fixtures.js'
import type { LayoutResult } from './layout-case.js'

interface PouchDb {
  bulkDocs(docs: object[]): Promise<unknown>
  replicate: { to(target: PouchDb): Promise<{ docs_written: number }> }
  destroy(): Promise<void>
}
type PouchCtor = (new (name: string, opts: { adapter: string }) => PouchDb) & {
  plugin(p: unknown): PouchCtor
}

/** Baseline: PouchDB (CHT's engine) replicating the same charts between two in-memory databases. */
export async function runPouch(n: number): Promise<LayoutResult> {
  const require = createRequire(import.meta.url)
  const PouchDB = (require('pouchdb-core') as PouchCtor)
    .plugin(require('pouchdb-adapter-memory'))
    .plugin(require('pouchdb-replication'))
  const a = new PouchDB(`a${process.pid}`, { adapter: 'memory' })
  const b = new PouchDB(`b${process.pid}`, { adapter: 'memory' })
  const docs = []
  for (let i = 0; i < n; i++) {
    const p = patientAt(i)
    docs.push({ _id: p.id, ...plainChart(p) })
  }
  let t = performance.now()
  for (let i = 0; i < docs.length; i += 500) await a.bulkDocs(docs.slice(i, i + 500))
  const createMs = performance.now() - t
  t = performance.now()
  const result = await a.replicate.to(b)
  const ms = performance.now() - t
  const rssMb = process.memoryUsage().rss / 1e6
  await a.destroy()
  await b.destroy()
  return { charts: n, createMs, searchableMs: ms, allChartsMs: ms, rssMb, found: result.docs_written }
}
