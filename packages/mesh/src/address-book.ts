/** How a device with a live session was reached. */
export type FoundBy = 'mdns' | 'address-book' | 'manual' | 'inbound'

/** Addresses kept per device (newest first). */
export const ADDRESS_BOOK_MAX_PER_PEER = 8

/**
 * Last-known LAN addresses of the clinic's devices (multiaddrs with /p2p/<id>), learned while connected and dialled
 * when mDNS finds nobody (client isolation, multicast blocked). Not patient data: peer ids and IP:port pairs. The
 * owner persists it (the device node: DATA/address-book.json).
 */
export class AddressBook {
  readonly #entries = new Map<string, string[]>()

  constructor(initial: Record<string, string[]> = {}) {
    for (const [peer, addrs] of Object.entries(initial)) this.#entries.set(peer, clean(peer, addrs))
  }

  /** Puts `addrs` first for `peer`; true if the book changed. */
  learn(peer: string, addrs: string[]): boolean {
    const before = this.#entries.get(peer) ?? []
    const next = clean(peer, [...addrs, ...before]).slice(0, ADDRESS_BOOK_MAX_PER_PEER)
    if (next.length === before.length && next.every((a, i) => a === before[i])) return false
    this.#entries.set(peer, next)
    return true
  }

  /**
   * Adds `addrs` after what the book already knows of `peer` (addresses a device claims for itself in the membership
   * data rank below those this device reached it on); true if the book changed.
   */
  suggest(peer: string, addrs: string[]): boolean {
    const before = this.#entries.get(peer) ?? []
    const next = clean(peer, [...before, ...addrs]).slice(0, ADDRESS_BOOK_MAX_PER_PEER)
    if (next.length === before.length) return false
    this.#entries.set(peer, next)
    return true
  }

  forget(peer: string): boolean {
    return this.#entries.delete(peer)
  }

  get(peer: string): string[] {
    return this.#entries.get(peer) ?? []
  }

  entries(): Record<string, string[]> {
    return Object.fromEntries(this.#entries)
  }

  get size(): number {
    return this.#entries.size
  }
}

/** Deduplicated, each with `/p2p/<peer>`, wildcard and unparsable addresses dropped. */
function clean(peer: string, addrs: string[]): string[] {
  const out: string[] = []
  for (const raw of addrs) {
    if (typeof raw !== 'string' || !raw.startsWith('/ip')) continue
    if (raw.includes('/0.0.0.0/') || raw.includes('/::/')) continue
    const base = raw.split('/p2p/')[0] ?? raw
    const full = `${base}/p2p/${peer}`
    if (!out.includes(full)) out.push(full)
  }
  return out
}
