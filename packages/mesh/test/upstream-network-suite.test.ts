import { runNetworkAdapterTests } from '@automerge/automerge-repo/helpers/tests/network-adapter-tests.js'
import type { MeshNode } from '@clinic-mesh/mesh'
import { eventually } from '@clinic-mesh/testing'
import { makeClinic, makeDevice, startNode, type TestDevice } from './clinic.js'

/**
 * automerge-repo's own network adapter acceptance suite, unmodified, over three real libp2p nodes on loopback. The
 * fixture returns once the libp2p connections of the topology are up (a clinic's tablets that are in reach of each
 * other); the adapters' sync sessions open when the suite's repos attach, and each adapter is ready once its sessions
 * with every connected peer have opened, so a find() asks every peer in reach before answering "unavailable".
 *
 * A line 0 — 1 — 2 is covered by our own suite (@clinic-mesh/testing, adapter-suite.test.ts: sync and ephemeral
 * messages relayed by the middle tablet). Upstream's "can sync 3 repos" and "can broadcast" fail in a line in most
 * runs here (6 of 7 rounds) for automerge-repo 2.5.6 reasons, not the adapter's: the suite's document is empty, so
 * the middle repo receiving it emits no `change` and never forwards it to the end that already asked
 * (DocSynchronizer syncs its peers on `change` only); and an end asked by the middle before it has the document
 * answers unavailable and keeps that state, so its own find() then fails at once. Our documents are never empty.
 */

/** Resolves once `node` has a libp2p connection with each of `peers`. */
function connectedTo(node: MeshNode, peers: TestDevice[]): Promise<true> {
  const ids = peers.map((p) => p.id)
  return eventually(() => ids.every((id) => node.libp2p.getPeers().some((p) => p.toString() === id)), {
    on: [[node.libp2p, 'connection:open']],
    timeoutMs: 20_000,
    what: `${node.peerId} connected to ${ids.join(', ')}`,
  })
}

/** A fallback only: readiness normally comes from the sessions (a peer whose repo never attaches is waited for). */
const ready = { readyAfterMs: 3000 }

/** Every tablet in reach of every other. */
async function triangle() {
  const c = makeClinic()
  const devices = await Promise.all(['tablet-0', 'tablet-1', 'tablet-2'].map((n) => makeDevice(c, n)))
  const [d0, d1, d2] = devices as [TestDevice, TestDevice, TestDevice]
  const n0 = await startNode(c, d0, devices, ready)
  const n1 = await startNode(c, d1, devices, { ...ready, bootstrap: n0.multiaddrs() })
  const n2 = await startNode(c, d2, devices, {
    ...ready,
    bootstrap: [...n0.multiaddrs(), ...n1.multiaddrs()],
  })
  await Promise.all([connectedTo(n0, [d1, d2]), connectedTo(n1, [d0, d2]), connectedTo(n2, [d0, d1])])
  const nodes = [n0, n1, n2]
  return {
    adapters: [n0.adapter, n1.adapter, n2.adapter] as [
      typeof n0.adapter,
      typeof n0.adapter,
      typeof n0.adapter,
    ],
    teardown: () => void Promise.all(nodes.map((n) => n.stop())),
  }
}

runNetworkAdapterTests(triangle, 'libp2p mesh, three tablets in reach of each other')
