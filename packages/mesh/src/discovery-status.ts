import type { LanDiscoveryStatus } from './discovery/index.js'

/** Why a device has no peer: the first that applies. */
export type AloneReason = 'mesh-off' | 'no-interface' | 'multicast-failing' | 'nothing-answering'

export interface MeshDiscoveryStatus {
  /** this device's mesh addresses on every interface (what another device's "connect to" takes) */
  addresses: string[]
  /** mDNS on each link (null when mDNS is off) */
  mdns: LanDiscoveryStatus | null
  /** the routing table has a way out for multicast (not needed: each link has its own socket) */
  multicastRoute: boolean
  addressBook: { peers: number; triedAt: number | null }
  /** null while at least one device is synced */
  alone: AloneReason | null
}

export function aloneReason(
  peers: number,
  enabled: boolean,
  mdns: LanDiscoveryStatus | null,
): AloneReason | null {
  if (peers > 0) return null
  if (!enabled) return 'mesh-off'
  if (mdns === null) return 'nothing-answering'
  if (mdns.interfaces.length === 0) return 'no-interface'
  const links = mdns.links.filter((l) => l.address !== null)
  // a socket still opening (not ok, no error yet) is not a failure
  if (links.length > 0 && links.every((l) => !l.ok && l.error !== null)) return 'multicast-failing'
  return 'nothing-answering'
}
