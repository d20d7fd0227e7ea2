import type { DocumentId, PeerId } from '@automerge/automerge-repo'

/** What changed in a clinic's access: a document or a peer mapped, a peer revoked (`peer` names it). */
export type AccessChange = (clinic: string, peer?: PeerId) => void

/**
 * Which clinic each document and each connected peer belongs to. The relay's automerge-repo `shareConfig.access`
 * asks `allows(peer, doc)`: a peer only ever syncs documents of its own clinic (reads and writes alike).
 */
export class AccessMap {
  readonly #docs = new Map<DocumentId, string>()
  readonly #peers = new Map<PeerId, string>()
  /** the documents by clinic: a change re-evaluates one clinic's documents, not every clinic's */
  readonly #docsOf = new Map<string, Set<DocumentId>>()
  /** the peers by clinic: the repo's synchronizer asks the policy only about a document's clinic's peers */
  readonly #peersOf = new Map<string, Set<PeerId>>()
  /** Peers of revoked devices: they sync nothing from now on and cannot register again. */
  readonly #revoked = new Set<PeerId>()
  /** Membership documents: the one thing a revoked peer still receives, so it learns it was revoked and wipes. */
  readonly #membership = new Set<DocumentId>()
  /** Documents only the relay writes (settled inventory, conflict queue): /sync refuses any peer's change to them. */
  readonly #relayOnly = new Set<DocumentId>()
  /** Documents another clinic tried to claim: kept for the status page, never reassigned. */
  readonly claimsRefused: { doc: DocumentId; clinic: string; owner: string }[] = []
  #listeners: AccessChange[] = []
  #docListeners: ((doc: DocumentId, clinic: string) => void)[] = []

  /** Record that `doc` belongs to `clinic`. First claim wins; returns false when another clinic owns it. */
  addDoc(doc: DocumentId, clinic: string): boolean {
    const owner = this.#docs.get(doc)
    if (owner === clinic) return true
    if (owner !== undefined) {
      if (this.claimsRefused.length < 1000) this.claimsRefused.push({ doc, clinic, owner })
      return false
    }
    this.#docs.set(doc, clinic)
    setOf(this.#docsOf, clinic).add(doc)
    for (const fn of this.#docListeners) fn(doc, clinic)
    this.#changed(clinic)
    return true
  }

  addPeer(peer: PeerId, clinic: string): void {
    const before = this.#peers.get(peer)
    if (before === clinic) return
    this.#peers.set(peer, clinic)
    if (before !== undefined) this.#peersOf.get(before)?.delete(peer)
    setOf(this.#peersOf, clinic).add(peer)
    // it may no longer sync the documents of the clinic it was mapped to
    if (before !== undefined) this.#changed(before, peer)
    this.#changed(clinic, peer)
  }

  clinicOfDoc(doc: DocumentId): string | undefined {
    return this.#docs.get(doc)
  }

  clinicOfPeer(peer: PeerId): string | undefined {
    return this.#peers.get(peer)
  }

  /** Cuts a revoked device's peer off every document of its clinic but the membership document. */
  revokePeer(peer: PeerId): void {
    if (this.#revoked.has(peer)) return
    this.#revoked.add(peer)
    const clinic = this.#peers.get(peer)
    if (clinic !== undefined) this.#changed(clinic, peer)
  }

  markMembership(doc: DocumentId): void {
    this.#membership.add(doc)
  }

  markRelayOnly(doc: DocumentId): void {
    this.#relayOnly.add(doc)
  }

  isRelayOnly(doc: string): boolean {
    return this.#relayOnly.has(doc as DocumentId)
  }

  isRevoked(peer: PeerId): boolean {
    return this.#revoked.has(peer)
  }

  allows(peer: PeerId, doc: DocumentId): boolean {
    const clinic = this.#peers.get(peer)
    if (this.#revoked.has(peer))
      return clinic !== undefined && this.#membership.has(doc) && this.#docs.get(doc) === clinic
    return clinic !== undefined && this.#docs.get(doc) === clinic
  }

  docCount(clinic: string): number {
    return this.#docsOf.get(clinic)?.size ?? 0
  }

  /** The documents mapped to `clinic`. */
  docsOf(clinic: string): ReadonlySet<DocumentId> {
    return this.#docsOf.get(clinic) ?? EMPTY
  }

  /** The peers (connected or not) mapped to the clinic of `doc`: the only ones `allows` may let sync it. */
  peersFor(doc: DocumentId): ReadonlySet<PeerId> {
    const clinic = this.#docs.get(doc)
    return (clinic !== undefined && this.#peersOf.get(clinic)) || EMPTY_PEERS
  }

  /** The documents of the clinic `peer` is mapped to: the only ones `allows` may let it sync. */
  docsFor(peer: PeerId): ReadonlySet<DocumentId> {
    const clinic = this.#peers.get(peer)
    return clinic === undefined ? EMPTY : this.docsOf(clinic)
  }

  /**
   * Called (synchronously) whenever a mapping is added or a peer revoked, with the clinic whose access changed (and
   * the peer, when it was a peer's): the relay re-evaluates sharing of that clinic's documents.
   */
  onChange(fn: AccessChange): void {
    this.#listeners.push(fn)
  }

  /** Called (synchronously) when a document is first mapped to a clinic. */
  onDocAdded(fn: (doc: DocumentId, clinic: string) => void): void {
    this.#docListeners.push(fn)
  }

  #changed(clinic: string, peer?: PeerId): void {
    for (const fn of this.#listeners) fn(clinic, peer)
  }
}

const EMPTY: ReadonlySet<DocumentId> = new Set()
const EMPTY_PEERS: ReadonlySet<PeerId> = new Set()

function setOf<K, V>(m: Map<K, Set<V>>, k: K): Set<V> {
  let s = m.get(k)
  if (!s) m.set(k, (s = new Set()))
  return s
}
