import type { Logger } from './logger.js'
import type { SettlementStore } from './settlement-store.js'

/** How a relay (or one relay instance among others) is started: `clinic-mesh relay ...` (main.ts). */
export interface RelayOptions {
  /**
   * Data directory: repo/ (automerge documents), settlement/ (checkpoints), clinics.json, relay-key.json. Required
   * without `postgres`; with it only read once, to seed an empty database with this relay's key.
   */
  readonly dataDir?: string
  /**
   * Keep everything in this PostgreSQL database (`--postgres URL`): documents, clinics, checkpoints, leases and the
   * relay key. Any number of instances share it; each clinic is settled by the one holding its lease.
   */
  readonly postgres?: string
  /** Lease length over PostgreSQL (default 2000 ms): how soon another instance takes over a dead one's clinics. */
  readonly leaseMs?: number
  /**
   * Unload a clinic idle this long (no device of it connected here, nothing pending; `--idle-ms`). Default: 10 min
   * over PostgreSQL, never on files (0: never).
   */
  readonly idleMs?: number
  readonly port?: number
  readonly host?: string
  /** Where settlement checkpoints live without `postgres` (default: files under dataDir/settlement). */
  readonly store?: SettlementStore
  /** Settle this long after the first operation of a burst (default 50 ms). */
  readonly debounceMs?: number
  /** How long startup waits for each clinic's directory to load from local storage (default 3000 ms). */
  readonly startupWaitMs?: number
  /** How long a request for a registered clinic not open here waits for it to open (default 3000 ms; then 503). */
  readonly openWaitMs?: number
  readonly logger?: Logger
  /** The web build whose review.html the relay serves at `/` (default: apps/web/dist of this checkout). */
  readonly webDist?: string
  /**
   * Clinics provisioned by the operator: clinic id → its admin public keys (hex). These are trusted as given, with
   * no first-use window; with `trustedOnly` no other clinic may register.
   */
  readonly trust?: Readonly<Record<string, readonly string[]>>
  readonly trustedOnly?: boolean
  /** Host names (besides loopback and this machine's addresses) the relay answers for (`--allow-host`). */
  readonly allowHosts?: readonly string[]
  /**
   * Where devices reach this instance (`--public-url wss://relay1.example:8443`; `auto`: this instance's own address
   * and port, for loopback and tests). Over PostgreSQL, other instances send the devices of the clinics it settles
   * here; without it this instance is never redirected to. Devices follow only to URLs in their own relay list.
   */
  readonly publicUrl?: string
  /** Serve HTTPS (and `/sync` over wss) with this PEM certificate and key (`--tls-cert`, `--tls-key`). */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer }
}
