import type { DocumentId, PeerId } from '@automerge/automerge-repo'

/**
 * Which clinic each document and each connected peer belongs to. The relay's automerge-repo `shareConfig.access`
 * asks `allows(peer, doc)`: a peer only ever syncs documents of its own clinic (reads and writes alike).
 */
export class AccessMap {
  readonly #docs = new Map<DocumentId, string>()
  readonly #peers = new Map<PeerId, string>()
  /** Documents another clinic tried to claim: kept for the status page, never reassigned. */
  readonly claimsRefused: { doc: DocumentId; clinic: string; owner: string }[] = []
  #listeners: (() => void)[] = []

  /** Record that `doc` belongs to `clinic`. First claim wins; returns false when another clinic owns it. */
  addDoc(doc: DocumentId, clinic: string): boolean {
    const owner = this.#docs.get(doc)
    if (owner === clinic) return true
    if (owner !== undefined) {
      if (this.claimsRefused.length < 1000) this.claimsRefused.push({ doc, clinic, owner })
      return false
    }
    this.#docs.set(doc, clinic)
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

  allows(peer: PeerId, doc: DocumentId): boolean {
    const clinic = this.#peers.get(peer)
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

  #changed(): void {
    for (const fn of this.#listeners) fn()
  }
}
