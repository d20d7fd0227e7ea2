import type { ConnectionGater, PeerId } from '@libp2p/interface'
import type { Membership } from './membership/membership.js'

export interface GateState {
  membership: Membership
  /** false while the device works offline: every connection is refused */
  enabled(): boolean
  /** told about each refused device (for events and logs) */
  onRefused(peer: string, reason: 'disabled' | 'not-enrolled' | 'revoked'): void
}

/** Why `peer` may not connect right now, or undefined if it may. */
export function refusal(state: GateState, peer: string): 'disabled' | 'not-enrolled' | 'revoked' | undefined {
  if (!state.enabled()) return 'disabled'
  if (state.membership.isRevoked(peer)) return 'revoked'
  if (!state.membership.allows(peer)) return 'not-enrolled'
  return undefined
}

/**
 * libp2p connection gater enforcing clinic membership at the connection: after the noise handshake the
 * remote's peer id is authenticated, and only enrolled, unrevoked devices get an upgraded connection.
 */
export function membershipGater(state: GateState): ConnectionGater {
  const deny = (peerId: PeerId): boolean => {
    const peer = peerId.toString()
    const why = refusal(state, peer)
    if (why !== undefined) state.onRefused(peer, why)
    return why !== undefined
  }
  return {
    denyDialMultiaddr: () => !state.enabled(),
    denyDialPeer: (peerId) => refusal(state, peerId.toString()) !== undefined,
    denyInboundConnection: () => !state.enabled(),
    denyInboundEncryptedConnection: deny,
    denyOutboundEncryptedConnection: deny,
    denyInboundUpgradedConnection: deny,
    denyOutboundUpgradedConnection: deny,
  }
}
