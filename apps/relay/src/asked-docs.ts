import type { DocumentId, PeerId } from '@automerge/automerge-repo'

/** At most this many documents are remembered per peer (a peer asking for random ids must not grow memory). */
const MAX_PER_PEER = 20_000

/**
 * The documents each connected peer asked this instance for (a `request` or `sync` message), until it disconnects.
 * automerge-repo keeps the same record privately and shares a document the policy refused only once it is asked
 * again through a synchronizer; the relay needs it to re-evaluate sharing for one clinic's documents and their askers
 * (RelayShare), and to open a document a device asked for before it was mapped to the device's clinic.
 */
export class AskedDocs {
  readonly #byDoc = new Map<DocumentId, Set<PeerId>>()
  readonly #byPeer = new Map<PeerId, Set<DocumentId>>()

  note(peer: PeerId, doc: DocumentId): void {
    let docs = this.#byPeer.get(peer)
    if (!docs) this.#byPeer.set(peer, (docs = new Set()))
    if (docs.has(doc)) return
    if (docs.size >= MAX_PER_PEER) {
      const oldest = docs.values().next().value
      if (oldest !== undefined) this.#drop(peer, oldest, docs)
    }
    docs.add(doc)
    let peers = this.#byDoc.get(doc)
    if (!peers) this.#byDoc.set(doc, (peers = new Set()))
    peers.add(peer)
  }

  /** The peers that asked for `doc` and are still connected. */
  askers(doc: DocumentId): ReadonlySet<PeerId> {
    return this.#byDoc.get(doc) ?? NONE
  }

  /** `peer` disconnected: what it asked is forgotten (automerge-repo forgets it too). */
  forget(peer: PeerId): void {
    const docs = this.#byPeer.get(peer)
    if (!docs) return
    for (const doc of docs) this.#drop(peer, doc, docs)
    this.#byPeer.delete(peer)
  }

  get size(): number {
    return this.#byDoc.size
  }

  #drop(peer: PeerId, doc: DocumentId, docs: Set<DocumentId>): void {
    docs.delete(doc)
    const peers = this.#byDoc.get(doc)
    peers?.delete(peer)
    if (peers?.size === 0) this.#byDoc.delete(doc)
  }
}

const NONE: ReadonlySet<PeerId> = new Set()
