import * as A from '@automerge/automerge'
import { Repo, type DocumentId } from '@automerge/automerge-repo'
import { DocRefresher, PostgresRelayState, RELAY_CHANNEL, type ChunkSource } from '@clinic-mesh/relay'
import { type PostgresCluster, startPostgresCluster } from '@clinic-mesh/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// Instances sharing a database tell each other which chunk of a document they wrote, with the changes it added when
// small, and the others merge those changes or read just that chunk (bench P12: at 50 clinics a quarter of each
// instance's CPU went to reading every chunk of a document again at every notice). A chunk an instance read from storage is not written back and announced again when its repo saves
// the merged document (the echo doubled the writes and notices per change).

interface Doc {
  n: number
}

const quiet = (): void => {}

describe('chunk notices between instances', () => {
  let cluster: PostgresCluster
  beforeAll(async () => {
    cluster = await startPostgresCluster()
  })
  afterAll(async () => {
    await cluster?.stop()
  })

  it('announces the key of the chunk written; a chunk read from storage is not written or announced again', async () => {
    const a = await PostgresRelayState.open({ url: cluster.url })
    const b = await PostgresRelayState.open({ url: cluster.url })
    const listener = new pg.Client({ connectionString: cluster.url })
    await listener.connect()
    const notices: string[] = []
    listener.on('notification', (m) => notices.push(m.payload ?? ''))
    await listener.query(`LISTEN ${RELAY_CHANNEL}`)
    try {
      const key = ['doc-1', 'incremental', 'abc123']
      await a.storage.save(key, new Uint8Array([1, 2, 3]))
      await until(() => notices.length === 1)
      expect(notices[0]).toBe(`d ${a.source} doc-1 incremental abc123 AQID`)
      // B hears of it and reads that chunk; its repo then saves the same chunk: nothing is written or announced
      expect(await b.loadChunk(key)).toEqual(new Uint8Array([1, 2, 3]))
      await b.storage.save(key, new Uint8Array([1, 2, 3]))
      // a new chunk of B's is written and announced (the notice after it proves the one before was never sent)
      await b.storage.save(['doc-1', 'incremental', 'def456'], new Uint8Array([4]))
      await until(() => notices.length >= 2)
      expect(notices).toEqual([
        `d ${a.source} doc-1 incremental abc123 AQID`,
        `d ${b.source} doc-1 incremental def456 BA==`,
      ])
      // a chunk removed is written again when saved
      await b.storage.remove(key)
      await b.storage.save(key, new Uint8Array([1, 2, 3]))
      await until(() => notices.length >= 3)
      expect(notices[2]).toBe(`d ${b.source} doc-1 incremental abc123 AQID`)
      expect(await a.loadChunk(['doc-1', 'incremental', 'gone'])).toBeUndefined()
    } finally {
      await listener.end()
      await a.close()
      await b.close()
    }
  })
})

describe('DocRefresher', () => {
  /** A document with one change more in `next` than the repo's copy, and the chunk that carries it. */
  function setUp(): { repo: Repo; id: DocumentId; chunk: Uint8Array; full: Uint8Array[] } {
    const repo = new Repo({})
    const h = repo.create<Doc>({ n: 1 })
    const next = A.change(A.clone(h.doc()), (d) => {
      d.n = 2
    })
    const chunk = A.saveSince(next, A.getHeads(h.doc()))
    return { repo, id: h.documentId, chunk, full: [A.save(next)] }
  }

  it('reads only the chunk a notice names', async () => {
    const { repo, id, chunk } = setUp()
    const reads: string[] = []
    const source: ChunkSource = {
      loadChunks: (doc) => {
        reads.push(`all ${doc}`)
        return Promise.resolve([])
      },
      loadChunk: (key) => {
        reads.push(key.join(' '))
        return Promise.resolve(chunk)
      },
    }
    const r = new DocRefresher(repo, source, quiet)
    r.refresh(id, [id, 'incremental', 'k1'])
    await r.idle()
    expect(reads).toEqual([`${id} incremental k1`])
    expect((await repo.find<Doc>(id)).doc().n).toBe(2)
    await repo.shutdown()
  })

  it('merges the changes a notice carries without reading; reads every chunk when their predecessors are missing', async () => {
    const { repo, id, chunk, full } = setUp()
    const { reads, source } = recordingSource(full)
    const r = new DocRefresher(repo, source, quiet)
    r.refresh(id, [id, 'incremental', 'k1'], chunk)
    await r.idle()
    expect(reads).toEqual([])
    expect((await repo.find<Doc>(id)).doc().n).toBe(2)
    // a change on top of one this instance never heard of: caught up from storage
    const h = await repo.find<Doc>(id)
    const two = A.change(A.clone(h.doc()), (d) => {
      d.n = 3
    })
    const three = A.change(A.clone(two), (d) => {
      d.n = 4
    })
    full.splice(0, 1, A.save(three))
    r.refresh(id, [id, 'incremental', 'k3'], A.saveSince(three, A.getHeads(two)))
    await r.idle()
    expect(reads).toEqual([`all ${id}`])
    expect(h.doc().n).toBe(4)
    await repo.shutdown()
  })

  it('reads every chunk when the one named is gone, or no chunk is named', async () => {
    const { repo, id, full } = setUp()
    const { reads, source } = recordingSource(full)
    const r = new DocRefresher(repo, source, quiet)
    r.refresh(id, [id, 'incremental', 'gone'])
    await r.idle()
    expect(reads).toEqual([`${id} incremental gone`, `all ${id}`])
    expect((await repo.find<Doc>(id)).doc().n).toBe(2)
    reads.length = 0
    r.refresh(id)
    await r.idle()
    expect(reads).toEqual([`all ${id}`])
    await repo.shutdown()
  })
})

async function until(ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** A chunk source that answers every whole-document read with `full`, has no single chunk, and records each read. */
function recordingSource(full: Uint8Array[]): { reads: string[]; source: ChunkSource } {
  const reads: string[] = []
  const source: ChunkSource = {
    loadChunks: (doc) => {
      reads.push(`all ${doc}`)
      return Promise.resolve(full)
    },
    loadChunk: (key) => {
      reads.push(key.join(' '))
      return Promise.resolve(undefined)
    },
  }
  return { reads, source }
}
