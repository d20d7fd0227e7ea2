import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import type { Libp2p, PeerId, Stream, Connection } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { MeshNetworkAdapter } from './adapter.js'
import type { FoundBy } from './address-book.js'
import { PeerReach } from './peer-reach.js'
import { LinkWatch } from './link-watch.js'
import { lanDiscovery, type LanDiscovery } from './discovery/index.js'
import { aloneReason, type MeshDiscoveryStatus } from './discovery-status.js'
import { Backoff } from './backoff.js'
import { DEFAULT_MAX_FRAME_BYTES, SYNC_PROTOCOL, YAMUX_WINDOW } from './constants.js'
import { MeshClosedError, PeerRefusedError } from './errors.js'
import { ClinicMeshError } from '@clinic-mesh/contracts'
import { membershipGater, refusal } from './gater.js'
import { AddressesEvent, MeshEvents } from './events.js'
import type { MeshPeer } from './events.js'
import type { Membership, MembershipChangeEvent } from './membership/membership.js'
import type { MeshInit } from './mesh-init.js'
import { clinicNetworkKey } from './membership/psk.js'
import { clinicPrivateNetwork } from './membership/private-network.js'

/**
 * A clinic device on the mesh: a libp2p host (tcp, private network, noise, yamux, identify, mdns) gated by clinic
 * membership, running the sync protocol for an automerge-repo Repo through `adapter`.
 */
export class MeshNode extends MeshEvents {
  readonly adapter: MeshNetworkAdapter
  readonly libp2p: Libp2p
  readonly #membership: Membership
  readonly #backoff: Backoff
  readonly #bootstrap: string[]
  readonly #reach: PeerReach
  readonly linkWatch: LinkWatch
  #discovery: LanDiscovery | undefined
  #enabled = true
  #stopped = false

  private constructor(
    libp2p: Libp2p,
    adapter: MeshNetworkAdapter,
    init: MeshInit,
    backoff: Backoff,
    discovery: LanDiscovery | undefined,
  ) {
    super()
    this.libp2p = libp2p
    this.adapter = adapter
    this.#membership = init.membership
    this.#backoff = backoff
    this.#bootstrap = init.bootstrap ?? []
    this.#reach = new PeerReach(
      {
        libp2p,
        peerId: libp2p.peerId.toString(),
        isEnabled: () => this.enabled,
        admitted: (remote) => refusal(this.#gate(), remote) === undefined,
        changed: () => this.emitPeers(),
        bookChanged: (entries) => this.dispatchEvent(new AddressesEvent(entries)),
      },
      init.addressBook,
      init.addressBookAfterMs ?? Math.max(1_000, 3 * (init.mdns?.interval ?? 10_000)),
    )
    this.#discovery = discovery
    this.linkWatch = new LinkWatch(libp2p, init.linkWatch, (remote, silentMs) =>
      this.log(
        `link to ${remote} taken for dead: nothing from it for ${Math.round(silentMs / 1000)} s and a ping failed`,
      ),
    )
  }

  static async create(init: MeshInit): Promise<MeshNode> {
    const ref: { node?: MeshNode } = {}
    const gate = {
      membership: init.membership,
      enabled: () => ref.node?.enabled ?? true,
      onRefused: (peer: string, reason: string) => ref.node?.emitRefused(peer, reason),
    }
    const mdnsOn = init.mdns?.enabled ?? true
    const found: { discovery?: LanDiscovery } = {}
    const libp2p = await createLibp2p({
      ...(init.privateKey === undefined ? {} : { privateKey: init.privateKey }),
      addresses: { listen: init.listen ?? ['/ip4/0.0.0.0/tcp/0'] },
      transports: [tcp()],
      connectionProtector: clinicPrivateNetwork(clinicNetworkKey(init.clinicSecret)),
      connectionEncrypters: [noise()],
      streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: YAMUX_WINDOW } })],
      connectionGater: membershipGater(gate),
      connectionManager: { inboundConnectionThreshold: init.inboundConnectionThreshold ?? 100 },
      // libp2p's monitor aborts a connection whose ping is late, and on a slow busy link the ping waits behind the
      // sync data: LinkWatch takes any bytes from the device as proof of life instead (see link-watch.ts)
      connectionMonitor: { enabled: false },
      peerDiscovery: mdnsOn
        ? [
            lanDiscovery(
              {
                interval: init.mdns?.interval ?? 10_000,
                serviceTag: init.mdns?.serviceTag ?? 'clinic-mesh',
              },
              (d) => (found.discovery = d),
            ),
          ]
        : [],
      services: { identify: identify() },
      start: false,
    })
    const backoff = new Backoff(init.backoff)
    const adapter = new MeshNetworkAdapter({
      deviceName: init.deviceName,
      maxFrameBytes: init.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      ...(init.maxMessageBytes === undefined ? {} : { maxMessageBytes: init.maxMessageBytes }),
      ...(init.maxQueueBytes === undefined ? {} : { maxQueueBytes: init.maxQueueBytes }),
      ...(init.pieceBytes === undefined ? {} : { pieceBytes: init.pieceBytes }),
      handshakeTimeoutMs: init.handshakeTimeoutMs,
      readyAfterMs: init.readyAfterMs,
      onConnect: () => ref.node?.openAll() ?? [],
      onSessionOpen: (remote) => {
        backoff.succeeded(remote)
        ref.node?.emitPeers()
      },
      onSessionClosed: (remote, error) => ref.node?.sessionClosed(remote, error),
      onBytes: (remote, direction, bytes) =>
        direction === 'in' ? ref.node?.linkWatch.heard(remote) : ref.node?.linkWatch.sent(remote, bytes),
      ...(init.onTraffic === undefined ? {} : { onTraffic: init.onTraffic }),
    })
    const node = new MeshNode(libp2p, adapter, init, backoff, found.discovery)
    ref.node = node
    await node.#start()
    return node
  }

  get peerId(): string {
    return this.libp2p.peerId.toString()
  }

  get enabled(): boolean {
    return this.#enabled && !this.#stopped
  }

  multiaddrs(): string[] {
    return this.libp2p.getMultiaddrs().map((m) => m.toString())
  }

  /** Devices with a live sync session, named from their enrolment, with how each was reached. */
  peers(): MeshPeer[] {
    return this.adapter.sessions().flatMap(({ remote, handshake }) =>
      handshake === undefined
        ? []
        : [
            {
              id: remote,
              name: this.#membership.deviceName(remote) ?? handshake.deviceName,
              repoPeerId: handshake.peerId,
              foundBy: this.#reach.foundBy(remote),
            },
          ],
    )
  }

  /**
   * Dials a device by multiaddr (an admin's "connect to …"; `/p2p/<peer id>` optional: the clinic's private
   * network and the membership gate still decide). Rejects if it is refused or unreachable. Returns the peer id.
   */
  async dial(address: string): Promise<string> {
    const conn = await this.libp2p.dial(multiaddr(address))
    const remote = conn.remotePeer.toString()
    this.#reach.reached(remote, 'manual', true)
    return remote
  }

  /** The address book (peer id → multiaddrs): persist it and pass it back as `addressBook` at the next start. */
  addresses(): Record<string, string[]> {
    return this.#reach.book.entries()
  }

  /**
   * A device's own claim of where it listens (a verified reach record from the membership data): added to the
   * address book after what this device learned itself, and dialled if mDNS has not seen that device lately.
   */
  suggestAddresses(remote: string, addrs: string[]): void {
    this.#reach.suggested(remote, addrs)
  }

  /** How discovery is doing, and why no device is in reach when none is. */
  discovery(): MeshDiscoveryStatus {
    const mdns = this.#discovery?.status() ?? null
    return {
      addresses: this.#discovery?.addresses() ?? this.multiaddrs(),
      mdns,
      multicastRoute: mdns?.links.find((l) => l.address === null)?.ok ?? false,
      addressBook: { peers: this.#reach.book.size, triedAt: this.#reach.triedAt },
      alone: aloneReason(this.peers().length, this.enabled, mdns),
    }
  }

  /** Work offline (false): closes every mesh connection and refuses new ones until set true again. */
  async setEnabled(on: boolean): Promise<void> {
    if (this.#stopped || on === this.#enabled) return
    this.#enabled = on
    if (!on) {
      this.#backoff.cancelAll()
      for (const { remote } of this.adapter.sessions())
        this.adapter.drop(remote, new PeerRefusedError('mesh disabled on this device'))
      await Promise.all(
        this.libp2p.getConnections().map((c) => c.close().catch((err: unknown) => c.abort(err as Error))),
      )
    } else {
      this.#redialKnown()
    }
    this.emitPeers()
  }

  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    this.#backoff.cancelAll()
    this.#reach.stop()
    this.#membership.removeEventListener('change', this.#onMembership)
    this.adapter.disconnect()
    this.linkWatch.stop()
    await this.libp2p.stop()
  }

  async #start(): Promise<void> {
    await this.libp2p.handle(SYNC_PROTOCOL, (stream, connection) => this.#inbound(stream, connection), {
      maxInboundStreams: 4,
      maxOutboundStreams: 4,
    })
    // libp2p also says peer:discovery for any peer new to its store (an inbound caller): only our mDNS means mDNS
    this.libp2p.addEventListener('peer:discovery', (evt) => this.#tryDial(evt.detail.id))
    this.#discovery?.addEventListener('peer', (evt) => this.#discovered(evt.detail))
    this.libp2p.addEventListener('peer:connect', (evt) => this.#open(evt.detail))
    this.libp2p.addEventListener('peer:disconnect', (evt) => {
      this.#reach.disconnected(evt.detail.toString())
      this.linkWatch.forget(evt.detail.toString())
    })
    this.libp2p.addEventListener('connection:open', (evt) => {
      this.#reach.opened(evt.detail)
      this.linkWatch.opened(evt.detail)
    })
    this.#membership.addEventListener('change', this.#onMembership)
    await this.linkWatch.start()
    await this.libp2p.start()
    this.#redialKnown()
    this.#reach.start()
  }

  #discovered(info: { id: PeerId; multiaddrs: { toString(): string }[] }): void {
    const addrs = info.multiaddrs.map((m) => m.toString())
    const connected = this.libp2p.getConnections(info.id).length > 0
    if (this.#reach.announced(info.id.toString(), addrs, connected)) this.#tryDial(info.id, 'mdns')
  }

  #inbound(stream: Stream, connection: Connection): void {
    const remote = connection.remotePeer.toString()
    const why = refusal(this.#gate(), remote)
    if (why !== undefined) {
      stream.abort(new PeerRefusedError(`sync stream refused: ${why}`))
      return
    }
    this.adapter.attach(stream, remote)
  }

  #gate(): { membership: Membership; enabled: () => boolean; onRefused: () => void } {
    return { membership: this.#membership, enabled: () => this.enabled, onRefused: () => {} }
  }

  /** The device with the smaller peer id opens the sync stream, so a pair never races two streams. */
  #opener(remote: PeerId): boolean {
    return this.peerId < remote.toString()
  }

  /** @internal called when the Repo connects the adapter: the connected peers a session is expected with */
  openAll(): string[] {
    const expected: string[] = []
    for (const peer of this.libp2p.getPeers()) {
      if (!this.enabled || refusal(this.#gate(), peer.toString()) !== undefined) continue
      expected.push(peer.toString())
      this.#open(peer)
    }
    return expected
  }

  #open(peer: PeerId): void {
    const remote = peer.toString()
    if (!this.enabled || !this.adapter.active || !this.#opener(peer) || this.adapter.hasSession(remote))
      return
    if (refusal(this.#gate(), remote) !== undefined) return
    this.libp2p
      .dialProtocol(peer, SYNC_PROTOCOL)
      .then((stream) => {
        if (this.adapter.hasSession(remote) || !this.enabled)
          stream.abort(new PeerRefusedError('stream no longer wanted'))
        else this.adapter.attach(stream, remote)
      })
      .catch(() => this.#retry(peer))
  }

  #tryDial(peer: PeerId, via?: FoundBy): void {
    const remote = peer.toString()
    if (refusal(this.#gate(), remote) !== undefined || this.libp2p.getConnections(peer).length > 0) return
    this.libp2p
      .dial(peer)
      .then(() => {
        if (via !== undefined) this.#reach.reached(remote, via)
      })
      .catch(() => this.#retry(peer))
  }

  #retry(peer: PeerId): void {
    const remote = peer.toString()
    if (!this.enabled || refusal(this.#gate(), remote) !== undefined) return
    this.#backoff.schedule(remote, () => {
      if (!this.enabled || this.adapter.hasSession(remote)) return
      if (this.libp2p.getConnections(peer).length > 0) this.#open(peer)
      else this.#tryDial(peer)
    })
  }

  /** @internal */
  sessionClosed(remote: string, error: Error | undefined): void {
    if (isProtocolError(error)) this.emitStreamError(remote, error)
    this.emitPeers()
    if (this.enabled && this.adapter.active) this.#retry(peerIdFromString(remote))
  }

  #redialKnown(): void {
    for (const address of this.#bootstrap) {
      this.libp2p.dial(multiaddr(address)).catch(() => {
        const id = multiaddr(address)
          .getComponents()
          .find((c) => c.name === 'p2p')?.value
        if (id !== undefined) this.#retry(peerIdFromString(id))
      })
    }
    void this.libp2p.peerStore.all().then((peers) => {
      for (const p of peers) if (!p.id.equals(this.libp2p.peerId)) this.#tryDial(p.id)
    })
  }

  readonly #onMembership = (evt: Event): void => {
    const { report } = evt as MembershipChangeEvent
    for (const remote of report.revoked) {
      this.adapter.drop(remote, new PeerRefusedError('device revoked'))
      void this.libp2p.hangUp(peerIdFromString(remote)).catch(() => {})
      this.emitRefused(remote, 'revoked')
    }
    for (const remote of report.admitted) this.#tryDial(peerIdFromString(remote))
  }
}

/** A reset we caused because the remote broke the protocol (as opposed to a link drop or a refusal). */
function isProtocolError(error: Error | undefined): error is ClinicMeshError {
  return (
    error instanceof ClinicMeshError &&
    !(error instanceof PeerRefusedError) &&
    !(error instanceof MeshClosedError)
  )
}

/** Creates and starts a mesh node; pass `node.adapter` to `new Repo({ network: [node.adapter] })`. */
export function createMeshNode(init: MeshInit): Promise<MeshNode> {
  return MeshNode.create(init)
}
