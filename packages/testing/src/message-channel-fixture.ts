import { MessageChannelNetworkAdapter } from '@automerge/automerge-repo-network-messagechannel'
import type { AdapterFixture, Network } from './network-adapter-suite.js'

function pair(): [MessageChannelNetworkAdapter, MessageChannelNetworkAdapter] {
  const { port1, port2 } = new MessageChannel()
  return [new MessageChannelNetworkAdapter(port1), new MessageChannelNetworkAdapter(port2)]
}

/**
 * The stock MessageChannel adapter in the suite's line topology 0 — 1 — 2. A MessageChannel adapter cannot
 * come back after a `leave`, so `heal` hands the suite a fresh channel for the 0 — 1 link.
 */
export function messageChannelFixture(): Promise<AdapterFixture> {
  const [a, b1] = pair()
  const [b2, c] = pair()
  const all: MessageChannelNetworkAdapter[] = [a, b1, b2, c]
  let link: [MessageChannelNetworkAdapter, MessageChannelNetworkAdapter] = [a, b1]
  return Promise.resolve({
    adapters: [[a], [b1, b2], [c]] as [Network, Network, Network],
    cut: () => {
      link[0].disconnect() // posts `leave`: both ends emit peer-disconnected
      return Promise.resolve()
    },
    heal: () => {
      link = pair()
      all.push(...link)
      return Promise.resolve([[link[0]], [link[1]]] as [Network, Network])
    },
    teardown: () => {
      for (const adapter of all) adapter.messagePortRef.stop()
      return Promise.resolve()
    },
  })
}
