import type { DocumentId, PeerId } from '@automerge/automerge-repo'

/** At most this many documents are remembered (a peer asking for random ids must not grow memory). */
const MAX_DOCS = 10_000

/**
 * Documents a connected device asked this instance for before the instance knew which clinic they belong to (the
 * share policy refused them: nobody's yet). automerge-repo remembers the ask, but offers a refused document again
 * only through a synchronizer, which exists only for documents this repo has opened; a document mapped to the clinic
 * a moment later (a follower reading the checkpoint that names the settled inventory, a clinic opened when its device
 * connected) was never sent. The relay opens such a document when it is mapped to the asker's clinic (Relay), and
 * the repo's new synchronizer then syncs it to every peer that asked and may have it.
 */
export class WaitingAsks {
  readonly #asks = new Map<DocumentId, Set<PeerId>>()

  /** `peer` was refused `doc`, which belongs to no clinic here yet. */
  note(peer: PeerId, doc: DocumentId): void {
    let peers = this.#asks.get(doc)
    if (!peers) {
      if (this.#asks.size >= MAX_DOCS) {
        const oldest = this.#asks.keys().next().value
        if (oldest !== undefined) this.#asks.delete(oldest)
      }
      this.#asks.set(doc, (peers = new Set()))
    }
    peers.add(peer)
  }

  /** The peers that asked for `doc` (forgotten now: the caller opens it). */
  take(doc: DocumentId): PeerId[] {
    const peers = this.#asks.get(doc)
    if (!peers) return []
    this.#asks.delete(doc)
    return [...peers]
  }

  get size(): number {
    return this.#asks.size
  }
}
