import type { DocumentId, PeerId, SharePolicy } from '@automerge/automerge-repo'

/** What the announce policy asks of the store. */
export interface SharePolicyParts {
  /** An archive document's answer (`ArchiveShelf.sharePolicy`); undefined: not an archive. */
  archive: (peer: PeerId, id: DocumentId) => boolean | undefined
  isShard: (id: DocumentId) => boolean
  /** Whether this device is still fetching its index shards. */
  fetchingShards: () => boolean
  /** Whether this device has opened chart bucket `id`; undefined: not a bucket. */
  bucketOpened: (id: DocumentId) => boolean | undefined
  /** Whether a peer said (root `bootstrapped`) that it holds every chart bucket. */
  isBootstrapped: (peer: PeerId) => boolean
}

/**
 * Announce policy for the repo (a priority sync queue). The root, today's document and every other non-bucket,
 * non-shard document are announced to everyone. Index shards and chart buckets are announced to a peer only once that
 * peer has said (in the root's `bootstrapped` map) that it holds every bucket (a bucket: and this device opened it): a
 * new tablet asks for them itself, today's document and buckets first, then the shards, then the other buckets a few
 * at a time, instead of having all of them pushed at once (buckets: measured 3-4× slower; shards pushed at once kept
 * today's buckets waiting behind them, bench P13), while peers that both hold everything keep them live between
 * them, across partitions and restarts. automerge-repo also asks this policy before *requesting* a document from a
 * peer: shards this device is fetching are asked of any peer, a bucket it is opening of a bootstrapped peer. Archives:
 * `ArchiveShelf.sharePolicy`. Requires a stable repo `peerId` (the device id).
 */
export function clinicSharePolicy(p: SharePolicyParts): SharePolicy {
  return (peer: PeerId, documentId?: DocumentId) => {
    if (documentId === undefined) return Promise.resolve(true)
    const archive = p.archive(peer, documentId)
    if (archive !== undefined) return Promise.resolve(archive)
    if (p.isShard(documentId)) return Promise.resolve(p.fetchingShards() || p.isBootstrapped(peer))
    const opened = p.bucketOpened(documentId)
    return Promise.resolve(opened === undefined || (opened && p.isBootstrapped(peer)))
  }
}
