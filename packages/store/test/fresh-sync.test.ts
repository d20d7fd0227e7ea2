import { afterEach, describe, expect, it } from 'vitest'
import * as A from '@automerge/automerge'
import type { DocHandle, DocHandleChangePayload } from '@automerge/automerge-repo'
import { freshSyncCount, installAutomergeHooks, setFreshSync, wholePatches } from '@clinic-mesh/store'
import { twoRepos } from './two-repos.js'

type Doc = {
  charts: { [id: string]: { name: string; notes: string; visits: { reason: string }[] } }
  title: string
  tags: string[]
}

const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v))

/** A writer's document of 30 charts (three changes), and a second repo connected to it with the hooks installed. */
function clinic(): { writer: DocHandle<Doc>; reader: ReturnType<ReturnType<typeof twoRepos>['b']> } {
  const { a, b } = twoRepos()
  const ra = a()
  const writer = ra.create<Doc>({ charts: {}, title: 'bucket', tags: ['x', 'y'] })
  for (let k = 0; k < 3; k++)
    writer.change((d) => {
      for (let i = 0; i < 10; i++)
        d.charts[`p${k}-${i}`] = { name: `N${i}`, notes: `note ${k}`, visits: [{ reason: `r${k}` }] }
    })
  const reader = b()
  installAutomergeHooks(reader)
  return { writer, reader }
}

/** Sets each patch's value at its path (puts only: what `wholePatches` makes). */
function applyPuts(patches: { path: (string | number)[]; value?: unknown }[]): unknown {
  const root: Record<string, unknown> = {}
  for (const p of patches) {
    let at = root
    for (const k of p.path.slice(0, -1)) at = at[k] as Record<string, unknown>
    at[p.path[p.path.length - 1]!] = p.value
  }
  return root
}

afterEach(() => setFreshSync(true))

describe('a sync message into an empty document is materialized, not patched (pinned/sync-patches.ts)', () => {
  it('builds the same document, which then syncs, changes and diffs as any other', async () => {
    const { writer, reader } = clinic()
    const before = freshSyncCount()
    const h = await reader.find<Doc>(writer.url)
    expect(freshSyncCount()).toBe(before + 1) // built by the hook
    expect(plain(h.doc())).toEqual(plain(writer.doc()))

    // later messages go through patches as always: the reader's change event names what changed
    const events: DocHandleChangePayload<Doc>[] = []
    h.on('change', (p) => events.push(p))
    writer.change((d) => void (d.charts['p0-0']!.name = 'Changed'))
    await new Promise<void>((resolve) => h.once('change', () => resolve()))
    expect(events.at(-1)!.patches.map((p) => p.path.join('/'))).toContain('charts/p0-0/name')
    expect(freshSyncCount()).toBe(before + 1)

    // and the reader's own edits reach the writer
    h.change((d) => void (d.charts['new'] = { name: 'New', notes: '', visits: [] }))
    await new Promise<void>((resolve) => writer.once('change', () => resolve()))
    expect(writer.doc().charts['new']?.name).toBe('New')
    expect(A.diff(h.doc(), [], A.getHeads(h.doc())).length).toBeGreaterThan(30)
  })

  it("gives the handle's change event patches that build the document from nothing, naming every chart", async () => {
    const { writer, reader } = clinic()
    const seen: DocHandleChangePayload<Doc>[] = []
    const progress = reader.findWithProgress<Doc>(writer.url)
    progress.handle.on('change', (p) => seen.push(p))
    const h = await reader.find<Doc>(writer.url)
    expect(seen).toHaveLength(1)
    const patches = seen[0]!.patches
    expect(patches).toEqual(wholePatches(h.doc()))
    expect(plain(applyPuts(patches as { path: (string | number)[]; value?: unknown }[]))).toEqual(
      plain(writer.doc()),
    )
    expect(patches.map((p) => p.path.join('/'))).toEqual(
      expect.arrayContaining(['charts/p0-0', 'charts/p2-9', 'title', 'tags']),
    )
  })

  it('is off when the baseline turns it off (setFreshSync(false)): the document comes through patches', async () => {
    const { writer, reader } = clinic()
    setFreshSync(false)
    const before = freshSyncCount()
    const h = await reader.find<Doc>(writer.url)
    expect(freshSyncCount()).toBe(before)
    expect(plain(h.doc())).toEqual(plain(writer.doc()))
  })

  it('leaves a document that already has history, or observes its patches, to Automerge', () => {
    const base = A.from<Doc>({ charts: {}, title: 't', tags: [] })
    const more = A.change(A.clone(base), (d) => void (d.charts['x'] = { name: 'X', notes: '', visits: [] }))
    installAutomergeHooks(twoRepos().a())
    const before = freshSyncCount()
    // history: the second message of a sync lands in a document that has heads
    const [s1, m1] = A.generateSyncMessage(more, A.initSyncState())
    const [first, sb] = A.receiveSyncMessage(A.clone(base), A.initSyncState(), m1!)
    const [, reply] = A.generateSyncMessage(first, sb)
    const [, s2] = A.receiveSyncMessage(more, s1, reply!)
    const [, m2] = A.generateSyncMessage(more, s2)
    const [doc] = A.receiveSyncMessage(first, sb, m2!)
    expect(doc.charts['x']?.name).toBe('X')
    // observed: an empty document with a patch callback gets Automerge's own patches
    const seen: unknown[] = []
    const empty = A.init<Doc>({ patchCallback: (p) => seen.push(...p) })
    const [, req] = A.generateSyncMessage(empty, A.initSyncState())
    const server = A.clone(more)
    const [, sm] = A.receiveSyncMessage(server, A.initSyncState(), req!)
    const [, all] = A.generateSyncMessage(server, sm)
    const [got] = A.receiveSyncMessage(empty, A.initSyncState(), all!)
    expect(got.charts['x']?.name).toBe('X')
    expect(seen.length).toBeGreaterThan(wholePatches(got).length)
    expect(freshSyncCount()).toBe(before)
  })
})
