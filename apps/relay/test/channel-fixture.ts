import type { PeerId } from '@automerge/automerge-repo'
import { Repo } from '@automerge/automerge-repo'
import { MessageChannelNetworkAdapter } from '@automerge/automerge-repo-network-messagechannel'
import { eventually } from '@clinic-mesh/testing'

// Repos of one test file connected in process over MessageChannels (a relay's repo and its devices'): the relay's
// share policy and synchronizer tests. `closeChannels` (afterEach) shuts down every repo and port made here.

const repos: Repo[] = []
const ports: { close(): void }[] = []

/** A repo to shut down after the test. */
export function tracked(repo: Repo): Repo {
  repos.push(repo)
  return repo
}

export async function closeChannels(): Promise<void> {
  for (const r of repos.splice(0)) await r.shutdown()
  for (const p of ports.splice(0)) p.close()
}

/** A device repo connected to the relay's repo over a MessageChannel, once the relay counts it as a peer. */
export async function channelDevice(relay: Repo, name: string): Promise<Repo> {
  const { port1, port2 } = new MessageChannel()
  ports.push(port1, port2)
  const d = tracked(new Repo({ network: [new MessageChannelNetworkAdapter(port1)], peerId: name as PeerId }))
  relay.networkSubsystem.addNetworkAdapter(new MessageChannelNetworkAdapter(port2))
  await eventually(() => relay.peers.includes(name as PeerId), { timeoutMs: 10_000 })
  return d
}
