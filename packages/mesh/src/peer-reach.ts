import type { Connection, Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { AddressBook, type FoundBy } from './address-book.js'

/** What PeerReach needs of its MeshNode. */
export interface ReachHost {
  readonly libp2p: Libp2p
  readonly peerId: string
  isEnabled(): boolean
  /** the membership gate admits this device */
  admitted(remote: string): boolean
  /** how a peer was reached changed (status) */
  changed(): void
  /** the address book changed (persist it) */
  bookChanged(entries: Record<string, string[]>): void
}

/**
 * How each device is reached: which way it was found (mDNS, address book, manual, inbound), when mDNS last saw it,
 * and the address book that is dialled for enrolled devices mDNS has not seen for `afterMs`.
 */
export class PeerReach {
  readonly book: AddressBook
  readonly #host: ReachHost
  readonly #afterMs: number
  readonly #foundBy = new Map<string, FoundBy>()
  /** when mDNS last announced each device, and the addresses it announced */
  readonly #mdnsSeen = new Map<string, { at: number; addrs: string[] }>()
  readonly #dialing = new Set<string>()
  #triedAt: number | null = null
  #timer: NodeJS.Timeout | undefined

  constructor(host: ReachHost, book: Record<string, string[]> | undefined, afterMs: number) {
    this.#host = host
    this.book = new AddressBook(book)
    this.#afterMs = afterMs
  }

  get triedAt(): number | null {
    return this.#triedAt
  }

  foundBy(remote: string): FoundBy {
    return this.#foundBy.get(remote) ?? 'inbound'
  }

  /** A dial for `via` succeeded; `override` for an admin's dial (it says more than how we met first). */
  reached(remote: string, via: FoundBy, override = false): void {
    if (!override && this.#foundBy.has(remote)) return
    this.#foundBy.set(remote, via)
    this.#host.changed()
  }

  disconnected(remote: string): void {
    this.#foundBy.delete(remote)
  }

  /** mDNS announced `remote` at `addrs`; true when it is not connected yet (the caller dials it). */
  announced(remote: string, addrs: string[], connected: boolean): boolean {
    this.#mdnsSeen.set(remote, { at: Date.now(), addrs })
    if (!connected) return true
    this.#learn(remote, [])
    // reachable by mDNS: say so rather than "it called us"
    if (this.#foundBy.get(remote) === 'inbound') {
      this.#foundBy.set(remote, 'mdns')
      this.#host.changed()
    }
    return false
  }

  /** Keeps the address a device answered on (outbound) and those mDNS announced for it. */
  opened(conn: Connection): void {
    const remote = conn.remotePeer.toString()
    if (!this.#host.admitted(remote)) return
    if (!this.#foundBy.has(remote) && conn.direction === 'inbound') this.#foundBy.set(remote, 'inbound')
    this.#learn(remote, conn.direction === 'outbound' ? [conn.remoteAddr.toString()] : [])
  }

  /** Addresses an enrolled device claims for itself (a verified reach record): dialled when mDNS finds nobody. */
  suggested(remote: string, addrs: string[]): void {
    if (remote === this.#host.peerId || !this.#host.admitted(remote)) return
    if (this.book.suggest(remote, addrs)) {
      this.#host.bookChanged(this.book.entries())
      this.dialBook()
    }
  }

  start(): void {
    this.#timer = setInterval(() => this.dialBook(), this.#afterMs)
    this.#timer.unref()
  }

  stop(): void {
    clearInterval(this.#timer)
  }

  /** Dials the last-known addresses of each enrolled device that is not connected and mDNS has not seen lately. */
  dialBook(): void {
    if (!this.#host.isEnabled()) return
    const now = Date.now()
    const { libp2p } = this.#host
    for (const [remote, addrs] of Object.entries(this.book.entries())) {
      if (remote === this.#host.peerId || this.#dialing.has(remote) || addrs.length === 0) continue
      if (!this.#host.admitted(remote)) continue
      if (libp2p.getConnections(peerIdFromString(remote)).length > 0) continue
      if (now - (this.#mdnsSeen.get(remote)?.at ?? 0) < this.#afterMs) continue
      this.#dialing.add(remote)
      this.#triedAt = now
      libp2p
        .dial(addrs.map((a) => multiaddr(a)))
        .then(() => this.reached(remote, 'address-book', true))
        .catch(() => undefined)
        .finally(() => this.#dialing.delete(remote))
    }
  }

  /** Book keeping for a connected, enrolled device: `addrs` plus what mDNS last announced for it. */
  #learn(remote: string, addrs: string[]): void {
    if (!this.#host.admitted(remote)) return
    const all = [...addrs, ...(this.#mdnsSeen.get(remote)?.addrs ?? [])]
    if (all.length > 0 && this.book.learn(remote, all)) this.#host.bookChanged(this.book.entries())
  }
}
