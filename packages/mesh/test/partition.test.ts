import { afterEach, expect, it } from 'vitest'
import type { Repo } from '@automerge/automerge-repo'
import type { MeshNode } from '@clinic-mesh/mesh'
import { eventually } from '@clinic-mesh/testing'
import { apartFrom, makeClinic, makeDevice, repoOn, startNode, syncedWith, findShared } from './clinic.js'

const nodes: MeshNode[] = []
const repos: Repo[] = []
afterEach(async () => {
  await Promise.all(repos.splice(0).map((r) => r.shutdown()))
  await Promise.all(nodes.splice(0).map((n) => n.stop()))
})

interface Ward {
  beds: Record<string, string>
}

it('working offline partitions the device; going back online heals and the charts converge', async () => {
  const c = makeClinic()
  const [d1, d2, d3] = await Promise.all([
    makeDevice(c, 'Ward A'),
    makeDevice(c, 'Ward B'),
    makeDevice(c, 'Ward C'),
  ])
  const all = [d1, d2, d3]
  const n1 = await startNode(c, d1, all)
  const [n2, n3] = await Promise.all([
    startNode(c, d2, all, { bootstrap: n1.multiaddrs() }),
    startNode(c, d3, all, { bootstrap: n1.multiaddrs() }),
  ])
  nodes.push(n1, n2, n3)
  const [r1, r2, r3] = [repoOn(n1, 'a'), repoOn(n2, 'b'), repoOn(n3, 'c')]
  repos.push(r1, r2, r3)
  await syncedWith(n1, [d2.id, d3.id])
  const h1 = r1.create<Ward>({ beds: {} })
  const [h2, h3] = await Promise.all([findShared<Ward>(r2, h1.url), findShared<Ward>(r3, h1.url)])

  await n2.setEnabled(false)
  await apartFrom(n1, d2.id)
  expect(n2.peers()).toEqual([])
  h2.change((d) => (d.beds['2'] = 'written offline on B'))
  h3.change((d) => (d.beds['3'] = 'written on C'))
  await eventually(() => h1.doc().beds['3'] !== undefined, { on: [[h1, 'change']], what: 'A sees C' })
  expect(h1.doc().beds['2']).toBeUndefined() // B's offline edit did not leak
  // while offline B refuses connections: a dial from A fails
  await expect(n1.dial(n2.multiaddrs()[0] ?? `/ip4/127.0.0.1/tcp/1/p2p/${d2.id}`)).rejects.toThrow()

  await n2.setEnabled(true)
  await syncedWith(n2, [d1.id])
  const full = (w: Ward): boolean => w.beds['2'] !== undefined && w.beds['3'] !== undefined
  await Promise.all(
    [h1, h2, h3].map((h) =>
      eventually(() => full(h.doc()), { on: [[h, 'change']], timeoutMs: 10_000, what: 'converged' }),
    ),
  )
  expect(h1.doc()).toEqual(h2.doc())
  expect(h3.doc()).toEqual(h2.doc())
})
