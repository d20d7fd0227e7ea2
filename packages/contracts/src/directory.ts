/**
 * The clinic directory: the one document that ties a clinic's documents together for device nodes and the
 * relay. Device nodes write the records/ledger parts; only the relay writes `settlement`.
 * URLs are automerge-repo document URLs (`automerge:...`), kept as plain strings here so this package
 * stays free of automerge.
 */
export type DocUrl = string & { readonly __docUrl: true }

export interface ClinicDirectoryDoc {
  kind: 'clinic-directory/1'
  clinic: string
  /** Display name of the clinic. */
  name: string
  /** Root of the records layout (@clinic-mesh/store ClinicRootDoc). */
  recordsRoot: DocUrl
  /** Ledger logs (@clinic-mesh/ledger DeviceLogDoc): device id → period (YYYY-MM-DD) → log document. */
  ledgerLogs: { [deviceId: string]: { [period: string]: DocUrl } }
  /** Documents only the relay writes. Empty until the relay has seen the clinic. */
  settlement: {
    /** SettledInventoryDoc */
    inventory?: DocUrl
    /** ConflictQueueDoc */
    conflicts?: DocUrl
  }
  /** Membership documents (enrolments, revocations), see docs/protocols/sync.md. */
  membership?: DocUrl
  /** The clinic's users (a @clinic-mesh/security UserRegister document), synced so anyone can log in on any device offline. */
  users?: DocUrl
  /** Audit trails: device id → that device's single-writer audit document (hash-chained entries). */
  audit?: { [deviceId: string]: DocUrl }
  /** Clinic settings an admin device writes. */
  settings?: {
    /** Audit entries older than this move to archive documents (never dropped); default 7 (seed 004). */
    auditRetentionYears?: number
  }
}

/**
 * Authoritative stock, written by the relay after each settlement round. Devices read it offline and add
 * their unsettled operations on top (tentative stock).
 */
export interface SettledInventoryDoc {
  kind: 'settled-inventory/1'
  clinic: string
  /** ISO time of the last settlement round. */
  settledAt: string
  /** Operations settled or turned into conflicts so far. */
  decidedOps: number
  /**
   * Per device: every operation with seq ≤ this value is decided (settled or in conflict). A device's
   * unsettled operations are those above its watermark.
   */
  watermarks: { [deviceId: string]: number }
  /**
   * The ledger's InventoryState, JSON-encoded (one value, replaced each round). Stored as an Automerge scalar
   * (`ImmutableString`) since 2026-12-06, as text before: read a JSON copy of the document, or `String(doc.state)`.
   */
  state: string
  /** The relay's signature over all of the above (absent only on documents written before relays signed). */
  relaySignature?: RelaySignature
}

/**
 * The relay's Ed25519 signature over a relay-only document's content (@clinic-mesh/ledger `relay-signed.ts` defines
 * the signed bytes: a context string, the clinic id, `version` and every content field). Any member can write an
 * Automerge document, so devices believe only content that verifies under the relay key they pinned, with a
 * `version` not lower than the last one they verified.
 */
export interface RelaySignature {
  /** Incremented by the relay at every publish of this document. */
  version: number
  /** hex Ed25519 public key of the relay */
  key: string
  /** hex Ed25519 signature */
  signature: string
}

/** Open and resolved conflicts, written by the relay; reviewers act through the relay's API. */
export interface ConflictQueueDoc {
  kind: 'conflict-queue/1'
  clinic: string
  /** conflict id → JSON-encoded ledger Conflict plus status ('open' | 'resolved') and resolution. */
  conflicts: { [conflictId: string]: string }
  /** The relay's signature over the clinic id and every entry (absent only on documents written before relays signed). */
  relaySignature?: RelaySignature
}
