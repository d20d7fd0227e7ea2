import { LanDiscovery } from './lan-discovery.js'
import type { LanDiscoveryComponents, LanDiscoveryInit } from './lan-discovery.js'

export { LanDiscovery } from './lan-discovery.js'
export type { LanDiscoveryComponents, LanDiscoveryInit, LanDiscoveryStatus } from './lan-discovery.js'
export type { LinkSocketState } from './link-socket.js'
export { lanInterfaces, isLinkLocalIPv4, onLink } from './interfaces.js'
export type { LanInterface } from './interfaces.js'
export { encodeAnswer, encodeQuery, decodePacket } from './packet.js'
export { MDNS_GROUP, MDNS_PORT, DEFAULT_SERVICE_TAG } from './constants.js'

/**
 * libp2p peer discovery over mDNS on every link (no router needed). `onCreate` receives the instance, so its
 * owner can read `status()`.
 */
export function lanDiscovery(
  init: LanDiscoveryInit = {},
  onCreate?: (d: LanDiscovery) => void,
): (components: LanDiscoveryComponents) => LanDiscovery {
  return (components) => {
    const d = new LanDiscovery(components, init)
    onCreate?.(d)
    return d
  }
}
