import { afterEach, describe, expect, it } from 'vitest'
import type { Repo } from '@automerge/automerge-repo'
import { signRevocation } from '@clinic-mesh/mesh'
import type { MeshNode, RefusedEvent } from '@clinic-mesh/mesh'
import { nextEvent } from '@clinic-mesh/testing'
import { apartFrom, makeClinic, makeDevice, membershipOf, repoOn, startNode, syncedWith } from './clinic.js'

const nodes: MeshNode[] = []
const repos: Repo[] = []
afterEach(async () => {
  await Promise.all(repos.splice(0).map((r) => r.shutdown()))
  await Promise.all(nodes.splice(0).map((n) => n.stop()))
})

async function started(...ns: Array<Promise<MeshNode>>): Promise<MeshNode[]> {
  const out = await Promise.all(ns)
  nodes.push(...out)
  out.forEach((n, i) => repos.push(repoOn(n, `repo-${nodes.length}-${i}`)))
  return out
}

describe('clinic membership at the connection', () => {
  it('a device of another clinic never connects, even when it lists our devices (different pnet key)', async () => {
    const a = makeClinic('clinic-a')
    const b = { ...makeClinic('clinic-a'), admin: a.admin } // same admin and enrolments, other secret
    const [ours, theirs] = await Promise.all([makeDevice(a, 'Ours'), makeDevice(a, 'Theirs')])
    const mdns = { enabled: true, interval: 200, serviceTag: `clinic-mesh-test-${ours.id.slice(-8)}` }
    const [nOurs, nTheirs] = await started(
      startNode(a, ours, [ours, theirs], { mdns }),
      startNode(b, theirs, [ours, theirs], { mdns }),
    )
    // they do discover each other on the shared link...
    await nextEvent(nTheirs!.libp2p, 'peer:discovery', 5000)
    // ...but the private-network handshake fails, so no connection, no stream, no data
    await expect(nTheirs!.dial(nOurs!.multiaddrs()[0]!)).rejects.toThrow()
    await expect(nOurs!.dial(nTheirs!.multiaddrs()[0]!)).rejects.toThrow()
    expect(nOurs!.libp2p.getConnections()).toHaveLength(0)
    expect(nOurs!.peers()).toEqual([])
    expect(nTheirs!.peers()).toEqual([])
  })

  it('a device with the clinic key but no enrolment is refused by the gater', async () => {
    const c = makeClinic()
    const [ours, intruder] = await Promise.all([makeDevice(c, 'Ours'), makeDevice(c, 'Unenrolled')])
    const [nOurs, nIntruder] = await started(
      startNode(c, ours, [ours]),
      startNode(c, intruder, [ours, intruder]),
    )
    const refused = nextEvent<RefusedEvent>(nOurs!, 'refused', 30_000)
    await nIntruder!.dial(nOurs!.multiaddrs()[0]!).catch(() => undefined) // may fail or be closed right after
    const evt = await refused
    expect(evt.peer).toBe(intruder.id)
    expect(evt.reason).toBe('not-enrolled')
    await apartFrom(nIntruder!, ours.id)
    expect(nOurs!.peers()).toEqual([])
    expect(nOurs!.libp2p.getConnections().filter((conn) => conn.status === 'open')).toHaveLength(0)
  })

  it('a revocation reaching a node disconnects the revoked device at once and refuses it afterwards', async () => {
    const c = makeClinic()
    const [d1, d2] = await Promise.all([makeDevice(c, 'Pharmacy'), makeDevice(c, 'Lost tablet')])
    const m1 = membershipOf(c, [d1, d2])
    const [n1, n2] = await started(startNode(c, d1, [d1, d2], { membership: m1 }), startNode(c, d2, [d1, d2]))
    await n2!.dial(n1!.multiaddrs()[0]!)
    await Promise.all([syncedWith(n1!, [d2.id]), syncedWith(n2!, [d1.id])])

    const refusedLater = nextEvent<RefusedEvent>(n1!, 'refused', 30_000)
    m1.update({
      revocations: [
        signRevocation({ clinic: c.clinic, devicePeerId: d2.id, reason: 'reported lost' }, c.admin.secretKey),
      ],
    })
    await Promise.all([apartFrom(n1!, d2.id), apartFrom(n2!, d1.id)])
    expect((await refusedLater).reason).toBe('revoked')
    // the lost tablet still believes it is a member and tries again: refused
    const again = nextEvent<RefusedEvent>(n1!, 'refused', 30_000)
    await n2!.dial(n1!.multiaddrs()[0]!).catch(() => undefined)
    expect((await again).peer).toBe(d2.id)
    expect(n1!.peers()).toEqual([])
  })
})
