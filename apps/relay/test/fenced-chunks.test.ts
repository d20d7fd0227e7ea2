import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as A from '@automerge/automerge'
import { Repo, type PeerId, type StorageAdapterInterface } from '@automerge/automerge-repo'
import {
  DraftDoc,
  FileSettlementStore,
  LeaseOwnership,
  PostgresSettlementStore,
  emptyMeta,
  type Checkpoint,
  type SettlementStore,
} from '@clinic-mesh/relay'
import { AtomicNodeFSStorageAdapter } from '@clinic-mesh/storage-nodefs'
import { PostgresStorageAdapter } from '@clinic-mesh/storage-postgres'
import { describe, expect, it } from 'vitest'
import { relayDatabase } from './relay-database.js'

// A published document (settled inventory, conflict queue) changes at every settlement round and keeps its history,
// so a full snapshot written at every round grows with the clinic's whole history. What a round writes is its
// changes; a snapshot replaces them once they add up to the last snapshot's size.

interface Inventory {
  round: number
  state: A.ImmutableString
}

const CLINIC = 'clinic-chunks'
const checkpoint: Checkpoint = { meta: emptyMeta(), engine: new Uint8Array([1]) }

const db = relayDatabase([CLINIC])

/** `rounds` settlement rounds through `store`: the size and kind of each write, and the draft at the end. */
async function settle(
  store: SettlementStore,
  rounds: number,
): Promise<{ writes: { bytes: number; incremental: boolean }[]; draft: DraftDoc<Inventory>; id: string }> {
  const repo = new Repo({ network: [], peerId: 'relay' as PeerId })
  const handle = repo.create<Inventory>({ round: 0, state: new A.ImmutableString('') })
  const draft = new DraftDoc(handle, [])
  const writes: { bytes: number; incremental: boolean }[] = []
  for (let i = 1; i <= rounds; i++) {
    draft.change((d) => {
      d.round = i
      d.state = new A.ImmutableString(JSON.stringify({ lots: Array.from({ length: 30 }, (_, k) => k * i) }))
    })
    const p = draft.pending()!
    await store.save(CLINIC, checkpoint, [p.doc])
    draft.committed(p.doc, p.version)
    writes.push({ bytes: p.doc.bytes.length, incremental: p.doc.incremental !== undefined })
  }
  expect(handle.doc().round, 'the repo document has every committed round').toBe(rounds)
  await repo.shutdown()
  return { writes, draft, id: handle.documentId }
}

/** The document as a relay taking over reads it: every stored chunk of it, in order. */
async function reload(storage: StorageAdapterInterface, id: string): Promise<A.Doc<Inventory>> {
  let d = A.init<Inventory>()
  for (const c of await storage.loadRange([id])) if (c.data) d = A.loadIncremental(d, c.data)
  return d
}

function expectCompacted(writes: { bytes: number; incremental: boolean }[]): void {
  expect(writes[0]!.incremental, 'the first write is a snapshot').toBe(false)
  const incremental = writes.filter((w) => w.incremental)
  const snapshots = writes.filter((w) => !w.incremental)
  expect(incremental.length, 'most rounds write only their changes').toBeGreaterThan(writes.length * 0.9)
  expect(snapshots.length, 'and a snapshot now and then').toBeGreaterThan(1)
  expect(Math.max(...incremental.map((w) => w.bytes))).toBeLessThan(2_000)
}

describe('published documents write their changes, and a snapshot now and then', () => {
  it('over PostgreSQL: the incremental chunks go when a snapshot is written, and a takeover reads it all', async () => {
    const lease = new LeaseOwnership(db.pool, { owner: 'A', leaseMs: 60_000 })
    await lease.acquire(CLINIC)
    const store = new PostgresSettlementStore(db.pool, (c) => lease.fenceOf(c), 'A')
    const { writes, draft, id } = await settle(store, 400)
    expectCompacted(writes)
    const chunks = new PostgresStorageAdapter({ pool: db.pool })
    const stored = await chunks.loadRange([id])
    const since = writes.length - 1 - writes.map((w) => w.incremental).lastIndexOf(false)
    expect(stored.length, 'one snapshot and the increments written since it').toBe(1 + since)
    const read = await reload(chunks, id)
    expect(read.round).toBe(400)
    expect(A.getHeads(read)).toEqual(A.getHeads(draft.doc()))
  })

  it('on files (the embedded relay): the same', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fenced-chunks-'))
    try {
      const documents = new AtomicNodeFSStorageAdapter(join(dir, 'repo'))
      const { writes, draft, id } = await settle(
        new FileSettlementStore(join(dir, 'settlement'), documents),
        400,
      )
      expectCompacted(writes)
      const since = writes.length - 1 - writes.map((w) => w.incremental).lastIndexOf(false)
      expect((await documents.loadRange([id])).length).toBe(1 + since)
      const read = await reload(documents, id)
      expect(read.round).toBe(400)
      expect(A.getHeads(read)).toEqual(A.getHeads(draft.doc()))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
