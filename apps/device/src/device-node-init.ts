import type { StorageProtection } from './storage-at-rest.js'

export interface DeviceNodeInit {
  dataDir: string
  name: string
  clinicFile?: string
  /** Create a clinic of this name on first start. */
  initClinic?: string
  /** With `initClinic`: how many charts the clinic is expected to hold (sizes its chart buckets, `chartBucketsFor`). */
  expectedCharts?: number
  /** HTTP port (0 = any free port) and address (default 127.0.0.1). */
  port?: number
  host?: string
  /** libp2p listen multiaddrs, default ['/ip4/0.0.0.0/tcp/0']. */
  meshListen?: string[]
  mdnsIntervalMs?: number
  /** how often this device re-checks the addresses in its reach record (default 15 s) */
  reachRefreshMs?: number
  /** `ws://host:port` of the relay; several, comma-separated (instances of one relay): tried in order, the next when one is down */
  relay?: string
  /** Directory of the built web app (default apps/web/dist). */
  webDist?: string
  /** Address the one-time join endpoint listens on when an admin creates a join code (default 0.0.0.0: the LAN). */
  joinHost?: string
  /** Encryption at rest: the device unlock secret (or an explicit `{ plain: true }`). Required. */
  storage?: StorageProtection
  /** hex Ed25519 public key of the relay (`--relay-key`): pinned now instead of at the first registration. */
  relayKey?: string
  /** PEM CA certificate(s) the relay's TLS certificate must chain to (`--relay-ca`; default: the system's). */
  relayCa?: string | Buffer
  /** `--insecure-relay`: allow a plain-text relay URL to a host that is not loopback (development only). */
  insecureRelay?: boolean
  /** Host names (besides loopback and this node's addresses) the web surface answers for (`--allow-host`). */
  allowHosts?: string[]
  /** A chart bucket unused and unchanged this long goes back to disk (default 60 s; issue 17: memory on a tablet). */
  bucketIdleMs?: number
  /** The history window to hold from now on (saved in device.json): years, or 'all'. Absent: as saved (default all). */
  historyYears?: number | 'all'
}

/** The clinic membership document (@clinic-mesh/contracts): enrolments and revocations keyed by libp2p peer id. */
export type { MembershipDoc } from '@clinic-mesh/contracts'
