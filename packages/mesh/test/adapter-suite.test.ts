import { runNetworkAdapterTests } from '@clinic-mesh/testing'
import type { AdapterFixture } from '@clinic-mesh/testing'
import { makeClinic, makeDevice, startNode } from './clinic.js'

/** Three mesh nodes on loopback in a line 0 — 1 — 2, the line drawn by membership (0 and 2 do not enrol each other). */
async function libp2pLine(): Promise<AdapterFixture> {
  const c = makeClinic()
  const [d0, d1, d2] = await Promise.all([
    makeDevice(c, 'tablet-0'),
    makeDevice(c, 'tablet-1'),
    makeDevice(c, 'tablet-2'),
  ])
  const n1 = await startNode(c, d1, [d0, d1, d2])
  const hub = n1.multiaddrs()
  const [n0, n2] = await Promise.all([
    startNode(c, d0, [d0, d1], { bootstrap: hub }),
    startNode(c, d2, [d1, d2], { bootstrap: hub }),
  ])
  const nodes = [n0, n1, n2]
  return {
    adapters: [[n0.adapter], [n1.adapter], [n2.adapter]],
    cut: () => n0.setEnabled(false),
    heal: async () => {
      await n0.setEnabled(true)
      return [[], []]
    },
    teardown: async () => {
      await Promise.all(nodes.map((n) => n.stop()))
    },
  }
}

runNetworkAdapterTests('libp2p mesh adapter', libp2pLine)
