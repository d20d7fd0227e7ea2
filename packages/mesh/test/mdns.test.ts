import { afterEach, expect, it } from 'vitest'
import type { MeshNode } from '@clinic-mesh/mesh'
import { eventually } from '@clinic-mesh/testing'
import { makeClinic, makeDevice, repoOn, startNode, syncedWith, findShared } from './clinic.js'
import type { Repo } from '@automerge/automerge-repo'

const nodes: MeshNode[] = []
const repos: Repo[] = []
afterEach(async () => {
  await Promise.all(repos.splice(0).map((r) => r.shutdown()))
  await Promise.all(nodes.splice(0).map((n) => n.stop()))
})

it('two tablets on one link find each other by mDNS and sync a chart', async () => {
  const c = makeClinic()
  const [d1, d2] = await Promise.all([makeDevice(c, 'Reception'), makeDevice(c, 'Triage')])
  // a service tag of our own so parallel test runs on this machine do not see each other
  const mdns = { enabled: true, interval: 250, serviceTag: `clinic-mesh-test-${d1.id.slice(-8)}` }
  const [n1, n2] = await Promise.all([
    startNode(c, d1, [d1, d2], { mdns }),
    startNode(c, d2, [d1, d2], { mdns }),
  ])
  nodes.push(n1, n2)
  const [r1, r2] = [repoOn(n1, 'reception'), repoOn(n2, 'triage')] // the repos start the sync protocol
  repos.push(r1, r2)
  await Promise.all([syncedWith(n1, [d2.id]), syncedWith(n2, [d1.id])])
  expect(n1.peers()).toEqual([
    { id: d2.id, name: 'Triage', repoPeerId: 'triage', foundBy: expect.stringMatching(/^(mdns|inbound)$/) },
  ])
  // the side that was dialled learns on the next answer that mDNS reaches the other too
  await eventually(() => [n1, n2].every((n) => n.peers()[0]?.foundBy === 'mdns'), {
    on: [
      [n1, 'peers'],
      [n2, 'peers'],
    ],
  })
  const chart = r1.create<{ name: string; allergies: string[] }>({ name: 'Amina', allergies: [] })
  const remote = await findShared<{ name: string; allergies: string[] }>(r2, chart.url)
  expect(remote.doc().name).toBe('Amina')
  remote.change((d) => d.allergies.push('penicillin'))
  await eventually(() => chart.doc().allergies[0] === 'penicillin', { on: [[chart, 'change']] })
})
