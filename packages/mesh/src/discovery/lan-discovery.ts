import type { RemoteInfo } from 'node:dgram'
import { randomBytes } from 'node:crypto'
import {
  TypedEventEmitter,
  peerDiscoverySymbol,
  serviceCapabilities,
  type PeerDiscovery,
  type PeerDiscoveryEvents,
  type PeerId,
  type Startable,
} from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { DEFAULT_QUERY_INTERVAL_MS, DEFAULT_SERVICE_TAG, MDNS_PORT } from './constants.js'
import { lanInterfaces, onLink, type LanInterface } from './interfaces.js'
import { LinkSocket, type LinkSocketState } from './link-socket.js'
import { decodePacket, encodeAnswer, encodeQuery } from './packet.js'

export interface LanDiscoveryInit {
  /** query (and interface re-read) interval, default 10 s */
  interval?: number
  /** PTR name queried and answered, default 'clinic-mesh' */
  serviceTag?: string
  /** UDP port, default 5353 (tests of the codec may use another) */
  port?: number
  /** the host's interfaces (tests); default `lanInterfaces()` */
  interfaces?: () => LanInterface[]
}

/** What the discovery needs of libp2p's components. */
export interface LanDiscoveryComponents {
  peerId: PeerId
  addressManager: { getAddresses(): Multiaddr[]; getListenAddrs(): Multiaddr[] }
}

export interface LanDiscoveryStatus {
  /** up, non-loopback IPv4 interfaces at the last read */
  interfaces: LanInterface[]
  /** one per interface, plus `default` (the routing table's choice; fails with no multicast route) */
  links: LinkSocketState[]
  /** when another device last answered (ms since epoch), null if never */
  answeredAt: number | null
}

/**
 * mDNS peer discovery on every link: one socket per up IPv4 interface (its own multicast membership and outgoing
 * interface), so devices find each other with no router, no default route and on link-local addresses, and a
 * device with two interfaces is found on both. The interfaces are re-read on every query tick and after a socket
 * fails, so a link that comes later is used without a restart. Each answer names this device's addresses on the
 * link it goes out by (libp2p's own address list leaves 169.254/16 out).
 */
export class LanDiscovery extends TypedEventEmitter<PeerDiscoveryEvents> implements PeerDiscovery, Startable {
  readonly [peerDiscoverySymbol] = this
  readonly [Symbol.toStringTag] = '@clinic-mesh/lan-discovery'
  readonly [serviceCapabilities] = ['@libp2p/peer-discovery']
  readonly #components: LanDiscoveryComponents
  readonly #interval: number
  readonly #tag: string
  readonly #port: number
  readonly #readInterfaces: () => LanInterface[]
  /** the PTR's instance label: random per run, so a device ignores its own answers */
  readonly #peerName = randomBytes(16).toString('hex')
  readonly #links = new Map<string, LinkSocket>()
  readonly #failures = new Map<string, string>()
  readonly #recent = new Map<string, number>()
  #interfaces: LanInterface[] = []
  #timer: NodeJS.Timeout | undefined
  #answeredAt: number | null = null
  #started = false

  constructor(components: LanDiscoveryComponents, init: LanDiscoveryInit = {}) {
    super()
    this.#components = components
    this.#interval = init.interval ?? DEFAULT_QUERY_INTERVAL_MS
    this.#tag = init.serviceTag ?? DEFAULT_SERVICE_TAG
    this.#port = init.port ?? MDNS_PORT
    this.#readInterfaces = init.interfaces ?? lanInterfaces
  }

  isStarted(): boolean {
    return this.#started
  }

  start(): void {
    if (this.#started) return
    this.#started = true
    this.#scan()
    void this.#queryAll()
    this.#timer = setInterval(() => {
      this.#scan()
      void this.#queryAll()
    }, this.#interval)
    this.#timer.unref()
  }

  stop(): void {
    this.#started = false
    clearInterval(this.#timer)
    for (const link of this.#links.values()) link.close()
    this.#links.clear()
  }

  status(): LanDiscoveryStatus {
    return {
      interfaces: [...this.#interfaces],
      links: [...this.#links.values()].map((l) => {
        const s = l.state()
        const failed = this.#failures.get(l.key)
        return s.error === null && failed !== undefined ? { ...s, ok: false, error: failed } : s
      }),
      answeredAt: this.#answeredAt,
    }
  }

  /** This device's addresses on each of its interfaces (link-local included), as its answers name them. */
  addresses(): string[] {
    const all = this.#interfaces.flatMap((i) => this.#addressesFor(i))
    return [...new Set(all.length > 0 ? all : this.#addressesFor(undefined))]
  }

  /** Opens a socket for each new interface (and queries on it at once), closes those of interfaces gone. */
  #scan(): void {
    if (!this.#started) return
    this.#interfaces = this.#readInterfaces()
    const wanted = new Map<string, LanInterface | undefined>([['default', undefined]])
    for (const i of this.#interfaces) wanted.set(`${i.name}/${i.address}`, i)
    for (const [key, link] of this.#links)
      if (!wanted.has(key) || this.#failures.has(key)) {
        link.close()
        this.#links.delete(key)
      }
    for (const [key, iface] of wanted) {
      if (this.#links.has(key)) continue
      const link = new LinkSocket(
        iface,
        (msg, from, l) => this.#onMessage(msg, from, l),
        (l) => this.#failures.set(l.key, l.state().error ?? 'failed'),
        this.#port,
      )
      this.#links.set(key, link)
      if (this.#timer !== undefined) void this.#query(link)
    }
    for (const key of this.#failures.keys()) if (!wanted.has(key)) this.#failures.delete(key)
  }

  async #queryAll(): Promise<void> {
    await Promise.all([...this.#links.values()].map((l) => this.#query(l)))
  }

  async #query(link: LinkSocket): Promise<void> {
    await link.send(encodeQuery(this.#tag))
    const { ok, error } = link.state()
    if (ok) this.#failures.delete(link.key)
    else if (error !== null) this.#failures.set(link.key, error)
  }

  #onMessage(msg: Buffer, from: RemoteInfo, link: LinkSocket): void {
    if (!this.#started || this.#seen(msg, from)) return
    const decoded = decodePacket(msg, this.#tag)
    if (decoded.kind === 'query') this.#answer(from)
    else if (decoded.kind === 'answer' && decoded.peerName !== this.#peerName)
      this.#found(decoded.addresses, link)
  }

  /** Every socket on the port receives every group packet (IP_MULTICAST_ALL): handle each one once. */
  #seen(msg: Buffer, from: RemoteInfo): boolean {
    const now = Date.now()
    const key = `${from.address}|${msg.toString('base64')}`
    const last = this.#recent.get(key)
    if (this.#recent.size > 512) for (const [k, t] of this.#recent) if (now - t > 100) this.#recent.delete(k)
    this.#recent.set(key, now)
    return last !== undefined && now - last < 100
  }

  /** Answers on the link(s) the query came by (judged by its source subnet), else on the default socket. */
  #answer(from: RemoteInfo): void {
    const links = [...this.#links.values()]
    const onSameLink = links.filter((l) => l.iface !== undefined && onLink(l.iface, from.address))
    const targets = onSameLink.length > 0 ? onSameLink : links.filter((l) => l.iface === undefined)
    for (const link of targets) {
      const addresses = this.#addressesFor(link.iface)
      if (addresses.length > 0) void link.send(encodeAnswer(this.#tag, this.#peerName, addresses))
    }
  }

  /**
   * This device's addresses as seen from `iface`: every wildcard (0.0.0.0) listener's port on the interface's own
   * address, then the addresses of specific listeners (e.g. 127.0.0.1 in loopback tests).
   */
  #addressesFor(iface: LanInterface | undefined): string[] {
    const id = this.#components.peerId.toString()
    const all = this.#components.addressManager.getAddresses().map((a) => withPeer(a, id))
    if (iface === undefined) return all
    const specific = new Set(
      this.#components.addressManager
        .getListenAddrs()
        .map((a) => tcp4(a)?.host)
        .filter((h) => h !== undefined && h !== '0.0.0.0'),
    )
    const wildcard = this.#components.addressManager.getListenAddrs().some((a) => tcp4(a)?.host === '0.0.0.0')
    const ports = new Set<number>()
    const fixed: string[] = []
    for (const a of this.#components.addressManager.getAddresses()) {
      const o = tcp4(a)
      if (o === undefined) continue
      if (specific.has(o.host)) fixed.push(withPeer(a, id))
      else ports.add(o.port)
    }
    const onIface = wildcard ? [...ports].map((p) => `/ip4/${iface.address}/tcp/${p}/p2p/${id}`) : []
    return [...onIface, ...fixed]
  }

  #found(addresses: string[], link: LinkSocket): void {
    let id: PeerId | undefined
    const multiaddrs: Multiaddr[] = []
    for (const text of addresses) {
      try {
        const ma = multiaddr(text)
        const p2p = ma.getComponents().findLast((c) => c.name === 'p2p')?.value
        if (p2p === undefined) continue
        id ??= peerIdFromString(p2p)
        if (id.toString() === p2p) multiaddrs.push(ma.decapsulateCode(0x01a5))
      } catch {
        // an address we cannot parse is skipped, not fatal
      }
    }
    if (id === undefined || id.equals(this.#components.peerId) || multiaddrs.length === 0) return
    this.#answeredAt = Date.now()
    // addresses on the link the answer came by first: those are the ones that can work
    const iface = link.iface
    const rank = (ma: Multiaddr): number => (iface && onLink(iface, tcp4(ma)?.host ?? '') ? 0 : 1)
    multiaddrs.sort((a, b) => rank(a) - rank(b))
    this.safeDispatchEvent('peer', { detail: { id, multiaddrs } })
  }
}

/** `/ip4/H/tcp/P...` → { host, port }; undefined for anything else. */
function tcp4(a: Multiaddr): { host: string; port: number } | undefined {
  const [ip, tcp] = a.getComponents()
  if (ip?.name !== 'ip4' || tcp?.name !== 'tcp' || ip.value === undefined) return undefined
  return { host: ip.value, port: Number(tcp.value) }
}

function withPeer(a: Multiaddr, id: string): string {
  const text = a.toString()
  return text.includes('/p2p/') ? text : `${text}/p2p/${id}`
}
