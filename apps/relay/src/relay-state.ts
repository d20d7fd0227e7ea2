import type { StorageAdapterInterface } from '@automerge/automerge-repo'
import type { RegistryBackend } from './clinic-registry.js'
import type { RelayKey } from './relay-key.js'
import type { SettlementStore } from './settlement-store.js'

/** The right to settle one clinic: `epoch` grows by one at every change of owner (the fencing token). */
export interface Fence {
  readonly owner: string
  readonly epoch: number
}

/** Who settles which clinic: exactly one instance at a time. */
export interface ClinicOwnership {
  /** This instance's name in leases. */
  readonly owner: string
  /** Become the settler of `clinic` unless another instance is: the new fence, or null. */
  acquire(clinic: string): Promise<Fence | null>
  fenceOf(clinic: string): Fence | undefined
  /** Give the clinic up after its last checkpoint (clean stop): another instance may take it at once. */
  release(clinic: string): Promise<void>
  /** Keep this instance's leases alive and look for clinics nobody settles; the events come from timers. */
  start(events: OwnershipEvents): void
  stop(): Promise<void>
  /** How late the lease renewals ran (leases only). */
  readonly lateness?: { readonly renewals: number; readonly late: number; readonly maxGapMs: number }
}

export interface OwnershipEvents {
  /** Another instance took the clinic over (this one was too slow to renew): stop settling it. */
  lost(clinic: string): void
  /** Clinics whose settler is gone (lease expired, or never taken): try to take them. */
  orphaned(clinics: readonly string[]): void
}

/** What other relay instances changed (nothing, for a relay alone on its files). */
export interface StateEvents {
  /**
   * A document's chunks changed in storage: bring it up to date if it is open. `chunk`: the key of the one chunk
   * written (read just that one); none: read all its chunks. `changes`: what the write added (merged without a read).
   */
  document(documentId: string, chunk?: readonly string[], changes?: Uint8Array): void
  /** A clinic registered, or one more of its devices. */
  registry(clinic: string): void
  /** A clinic's settler wrote a checkpoint. */
  checkpoint(clinic: string): void
  /** Notifications may have been missed (first start, listener reconnected): catch up from storage. */
  resync(): void
}

/** Routing a clinic's devices to the instance that settles it (instances over PostgreSQL only). */
export interface ClinicRoutes {
  /** Record where devices reach this instance (`--public-url`): other instances may send devices here. */
  advertise(publicUrl: string): Promise<void>
  /** The public URL of the live instance settling `clinic`, when it is another one (else: serve it here). */
  ownerUrl(clinic: string): Promise<string | undefined>
  /** `ownerUrl` of several clinics at once: clinic → URL, for those another live instance settles. */
  ownerUrls(clinics: readonly string[]): Promise<Map<string, string>>
}

/**
 * Everything a relay instance keeps, behind one interface with two implementations: files under `--data DIR` (one
 * relay, the default) and PostgreSQL (`--postgres URL`, any number of instances sharing one database).
 */
export interface RelayState {
  readonly kind: 'files' | 'postgres'
  /** automerge-repo storage of the relay's documents */
  readonly storage: StorageAdapterInterface
  readonly registry: RegistryBackend
  readonly checkpoints: SettlementStore
  readonly ownership: ClinicOwnership
  /** Instances over PostgreSQL: which instance a clinic's devices belong on. */
  readonly routes?: ClinicRoutes
  /**
   * True when the settled inventory and conflict queue are written only with their checkpoint (`published` of
   * `SettlementStore.save`, fenced): the repo's own saves of those documents are dropped.
   */
  readonly fencedDocuments: boolean
  /** How long the repo gathers a document's changes before saving them (other instances see them once saved). */
  readonly saveDebounceMs: number
  /** The relay-only documents of a clinic: with `fencedDocuments`, only the checkpoint transaction writes them. */
  markFenced(documentId: string): void
  /**
   * A document's stored chunks (snapshot and incremental), to catch up with what another instance wrote.
   * `readAhead`: those `readAhead` just read will do (a clinic being opened).
   */
  loadChunks(documentId: string, readAhead?: boolean): Promise<Uint8Array[]>
  /** Read the chunks of documents about to be loaded in one go (a clinic being opened); optional. */
  readAhead?(documentIds: readonly string[]): Promise<void>
  /** Whether chunks read ahead of a document wait for its load (with `readAhead`). */
  isAhead?(documentId: string): boolean
  /**
   * The chunks read ahead of a document, taken (its load reads storage again); undefined: none, stale, or the
   * document was written or announced since (with `readAhead`).
   */
  takeAhead?(documentId: string): Uint8Array[] | undefined
  /** One stored chunk of a document (undefined: gone, e.g. compacted into a snapshot meanwhile). */
  loadChunk(key: readonly string[]): Promise<Uint8Array | undefined>
  /** The key every instance signs settlements with (devices pin it). */
  relayKey(): Promise<RelayKey>
  /** Start receiving other instances' changes (before anything is loaded; calls `resync` once listening). */
  listen(events: StateEvents): Promise<void>
  close(): Promise<void>
}

/** Documents being read ahead (`read`: those not loaded nor read ahead before), read once `done` (never rejects). */
export interface Prefetch {
  readonly read: readonly string[]
  readonly done: Promise<void>
}
