import type { DocumentId, PeerId } from '@automerge/automerge-repo'

/**
 * Which clinic each document and each connected peer belongs to. The relay's automerge-repo `shareConfig.access`
 * asks `allows(peer, doc)`: a peer only ever syncs documents of its own clinic (reads and writes alike).
 */
export class AccessMap {
  readonly #docs = new Map<DocumentId, string>()
  readonly #peers = new Map<PeerId, string>()
  /** Peers of revoked devices: they sync nothing from now on and cannot register again. */
  readonly #revoked = new Set<PeerId>()
  /** Membership documents: the one thing a revoked peer still receives, so it learns it was revoked and wipes. */
  readonly #membership = new Set<DocumentId>()
  /** Documents only the relay writes (settled inventory, conflict queue): /sync refuses any peer's change to them. */
  readonly #relayOnly = new Set<DocumentId>()
  /** Documents another clinic tried to claim: kept for the status page, never reassigned. */
  readonly claimsRefused: { doc: DocumentId; clinic: string; owner: string }[] = []
  #listeners: (() => void)[] = []
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
    for (const fn of this.#docListeners) fn(doc, clinic)
    this.#changed()
    return true
  }

  addPeer(peer: PeerId, clinic: string): void {
    if (this.#peers.get(peer) === clinic) return
    this.#peers.set(peer, clinic)
    this.#changed()
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
    this.#changed()
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
    let n = 0
    for (const c of this.#docs.values()) if (c === clinic) n++
    return n
  }

  /** Called (synchronously) whenever a mapping is added; the relay re-evaluates sharing. */
  onChange(fn: () => void): void {
    this.#listeners.push(fn)
  }

  /** Called (synchronously) when a document is first mapped to a clinic. */
  onDocAdded(fn: (doc: DocumentId, clinic: string) => void): void {
    this.#docListeners.push(fn)
  }

  #changed(): void {
    for (const fn of this.#listeners) fn()
  }
}
