import { type AutomergeUrl, Repo } from '@automerge/automerge-repo'
import { PostgresStorageAdapter } from '@clinic-mesh/storage-postgres'
import { type PostgresCluster, startPostgresCluster } from '@clinic-mesh/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// Two repos, each with its own adapter and pool (as two relay instances would be), write the same documents at the
// same time with no network between them; a third repo opening the documents from storage sees both writers' changes.
// Enough rounds that both repos compact (replace chunks by a snapshot), the path that could delete the other's work.

interface Tally {
  byA: number[]
  byB: number[]
}

const DOCS = 4
const ROUNDS = 40
const TABLE = 'shared_chunks'

let cluster: PostgresCluster
beforeAll(async () => {
  cluster = await startPostgresCluster()
})
afterAll(async () => {
  await cluster?.stop()
})

/** mulberry32: the interleaving of the two writers is drawn from a seed, so a failure reproduces */
function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), a | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

const open = (): { repo: Repo; adapter: PostgresStorageAdapter } => {
  const adapter = new PostgresStorageAdapter({ connectionString: cluster.url, table: TABLE })
  return { repo: new Repo({ storage: adapter, network: [], saveDebounceRate: 5 }), adapter }
}

describe('two repos writing the same documents concurrently through PostgresStorageAdapter', () => {
  it('a third repo opening from storage sees every change of both, merged', async () => {
    const a = open()
    const urls: AutomergeUrl[] = []
    for (let i = 0; i < DOCS; i++) urls.push(a.repo.create<Tally>({ byA: [], byB: [] }).url)
    await a.repo.flush()
    const b = open()
    const handlesA = await Promise.all(urls.map((url) => a.repo.find<Tally>(url)))
    const handlesB = await Promise.all(urls.map((url) => b.repo.find<Tally>(url)))

    const writer = async (side: 'byA' | 'byB', repo: Repo, seed: number): Promise<void> => {
      const handles = side === 'byA' ? handlesA : handlesB
      const random = seeded(seed)
      for (let round = 0; round < ROUNDS; round++) {
        for (const handle of handles) handle.change((d) => void d[side].push(round))
        // flush at random points so saves and compactions of the two repos interleave
        if (random() < 0.5) await repo.flush()
        else await new Promise<void>((resolve) => setImmediate(resolve))
      }
      await repo.flush()
    }
    await Promise.all([writer('byA', a.repo, 1), writer('byB', b.repo, 2)])

    // both writers compacted at least once: some chunks of the first save are gone, snapshots took their place
    const chunks = await a.adapter.loadRange([handlesA[0]!.documentId])
    expect(chunks.some((c) => c.key[1] === 'snapshot')).toBe(true)

    await Promise.all([a.repo.shutdown(), b.repo.shutdown()])
    await Promise.all([a.adapter.close(), b.adapter.close()])

    const c = open()
    const every = Array.from({ length: ROUNDS }, (_, round) => round)
    for (const url of urls) {
      const doc = (await c.repo.find<Tally>(url)).doc()
      expect(doc.byA).toEqual(every)
      expect(doc.byB).toEqual(every)
    }
    await c.repo.shutdown()
    await c.adapter.close()
  })
})
