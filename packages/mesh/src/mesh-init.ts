import type { PrivateKey } from '@libp2p/interface'
import type { TrafficEvent } from './adapter.js'
import type { BackoffPolicy } from './backoff.js'
import type { LinkWatchPolicy } from './link-watch.js'
import type { Membership } from './membership/membership.js'

/** What a mesh node is made from (`createMeshNode`): the clinic's membership and secret, and its tunables. */
export interface MeshInit {
  deviceName: string
  membership: Membership
  /** the clinic secret (≥ 32 bytes): the private-network key is derived from it */
  clinicSecret: Uint8Array
  /** the device's libp2p key, persisted by the caller; its peer id is what enrolments name */
  privateKey?: PrivateKey
  /** default ['/ip4/0.0.0.0/tcp/0'] */
  listen?: string[]
  /** default enabled, 10 s query interval, service tag 'clinic-mesh'; one socket per up IPv4 interface */
  mdns?: { enabled: boolean; interval?: number; serviceTag?: string }
  /** last-known addresses of devices (peer id → multiaddrs), e.g. as persisted from `addresses` events */
  addressBook?: Record<string, string[]>
  /** dial the address book for a device mDNS has not seen for this long; default 3 × the mDNS interval, ≥ 1 s */
  addressBookAfterMs?: number
  /** multiaddrs (with /p2p/<id>) dialled at start, on re-enable and after drops */
  bootstrap?: string[]
  /** largest accepted frame payload, default 16 MiB; a larger message travels as chunk frames */
  maxFrameBytes?: number
  /** largest message reassembled from chunk frames, default 128 MiB */
  maxMessageBytes?: number
  /** bound of each peer's send queue in bytes, default 8 MiB (over it: drop, then resync once drained) */
  maxQueueBytes?: number
  /** a message above this travels as resumable `piece` frames of this size (wire 1.2), default 16 KiB */
  pieceBytes?: number
  handshakeTimeoutMs?: number
  readyAfterMs?: number
  backoff?: Partial<BackoffPolicy>
  /** keep-alive: when a silent link is taken for dead (LinkWatchPolicy; defaults: 10 s quiet, 20 s / 120 s dead) */
  linkWatch?: Partial<LinkWatchPolicy>
  /** every sync message sent or received (debugging; the adapter counts per type anyway: `adapter.traffic()`) */
  onTraffic?: (event: TrafficEvent) => void
  /** connections accepted per second from one host, default 100 (libp2p's own default of 5 is too low for a mesh) */
  inboundConnectionThreshold?: number
}
