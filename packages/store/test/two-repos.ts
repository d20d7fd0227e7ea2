import { Repo, type PeerId, type StorageAdapterInterface } from '@automerge/automerge-repo'
import { MessageChannelNetworkAdapter } from '@automerge/automerge-repo-network-messagechannel'

/** One side of `twoRepos`: its peer id ("a" or "b" unless named) and its storage (none: memory only). */
export interface RepoSide {
  peerId?: string
  storage?: StorageAdapterInterface
}

/**
 * Two repos connected by a MessageChannel, as the store's tests build them: each side's repo is made when the test
 * asks for it (a second device joins after the first wrote its clinic), and they sync from then on.
 */
export function twoRepos(): { a: (side?: RepoSide) => Repo; b: (side?: RepoSide) => Repo } {
  const { port1, port2 } = new MessageChannel()
  const repo = (port: typeof port1, name: string, side: RepoSide = {}): Repo =>
    new Repo({
      network: [new MessageChannelNetworkAdapter(port)],
      ...(side.storage ? { storage: side.storage } : {}),
      peerId: (side.peerId ?? name) as PeerId,
    })
  return { a: (side) => repo(port1, 'a', side), b: (side) => repo(port2, 'b', side) }
}
