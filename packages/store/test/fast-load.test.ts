import { describe, expect, it } from 'vitest'
import * as A from '@automerge/automerge'
import { Repo, type DocHandleChangePayload, type PeerId } from '@automerge/automerge-repo'
import { MemoryStorage } from '@clinic-mesh/testing'
import { fastLoadCount, installFastLoad } from '@clinic-mesh/store'

type Doc = {
  charts: { [id: string]: { name: string; visits: { reason: string }[] } }
}

async function storedClinic(storage: MemoryStorage): Promise<{ url: string; expected: Doc }> {
  const repo = new Repo({ storage, network: [], peerId: 'writer' as PeerId })
  const h = repo.create<Doc>({ charts: {} })
  for (let k = 0; k < 3; k++)
    h.change((d) => {
      for (let i = 0; i < 20; i++)
        d.charts[`p${k}-${i}`] = { name: `N${i}`, visits: [{ reason: 'fever' }, { reason: `r${k}` }] }
    })
  await repo.flush()
  const expected = JSON.parse(JSON.stringify(h.doc())) as Doc
  await repo.shutdown()
  return { url: h.url, expected }
}

describe('fast load from storage (A.load instead of patches; issue 17)', () => {
  it('loads the same document, which then changes, diffs and saves as before', async () => {
    const storage = new MemoryStorage()
    const { url, expected } = await storedClinic(storage)
    const repo = new Repo({ storage, network: [], peerId: 'reader' as PeerId })
    expect(installFastLoad(repo)).toBe(true)
    const before = fastLoadCount()
    const h = await repo.find<Doc>(url as Parameters<typeof repo.find>[0])
    expect(fastLoadCount()).toBe(before + 1) // loaded by the hook, not through patches
    expect(JSON.parse(JSON.stringify(h.doc()))).toEqual(expected)
    const heads = A.getHeads(h.doc())
    // a later diff from nothing is computed as always (the cached empty answer was the handle's, once)
    expect(A.diff(h.doc(), [], heads).length).toBeGreaterThan(60)

    const events: DocHandleChangePayload<Doc>[] = []
    h.on('change', (p) => events.push(p))
    h.change((d) => {
      d.charts['p0-0']!.name = 'Changed'
      d.charts['new'] = { name: 'New', visits: [] }
    })
    expect(events).toHaveLength(1)
    expect(events[0]!.patches.map((p) => p.path.join('/'))).toEqual(
      expect.arrayContaining(['charts/p0-0/name', 'charts/new']),
    )
    expect(Object.keys(h.doc().charts)).toHaveLength(61)
    expect(A.diff(h.doc(), heads, A.getHeads(h.doc())).length).toBeGreaterThan(0)
    await repo.flush()
    await repo.shutdown()

    const again = new Repo({ storage, network: [], peerId: 'again' as PeerId })
    installFastLoad(again)
    const h2 = await again.find<Doc>(url as Parameters<typeof again.find>[0])
    expect(h2.doc().charts['p0-0']?.name).toBe('Changed')
    expect(h2.doc().charts['new']?.name).toBe('New')
    await again.shutdown()
  })

  it('touches no other loadIncremental: a document loaded into one that has history goes through patches', () => {
    let doc = A.from<Doc>({ charts: {} })
    const other = A.change(A.clone(doc), (d) => void (d.charts['x'] = { name: 'X', visits: [] }))
    const before = fastLoadCount()
    const seen: unknown[] = []
    doc = A.loadIncremental(doc, A.save(other), { patchCallback: (p) => seen.push(...p) })
    expect(doc.charts['x']?.name).toBe('X')
    expect(seen.length).toBeGreaterThan(0)
    expect(fastLoadCount()).toBe(before)
  })
})
