/** The mDNS group and port (RFC 6762). */
export const MDNS_GROUP = '224.0.0.251'
export const MDNS_PORT = 5353

/** Default query interval; every tick also re-reads the host's interfaces. */
export const DEFAULT_QUERY_INTERVAL_MS = 10_000

/** Default service tag: the PTR name queried, as @libp2p/mdns names it (the wire format is the same). */
export const DEFAULT_SERVICE_TAG = 'clinic-mesh'

/** Answers carry at most this many addresses (a TXT string is ≤ 255 bytes, the packet ≤ 9000). */
export const MAX_ANNOUNCED_ADDRESSES = 16
