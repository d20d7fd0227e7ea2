export { Relay } from './relay.js'
export type { RelayOptions } from './relay.js'
export { AccessMap } from './access-map.js'
export { RelayShare } from './relay-share.js'
export {
  installScopedSynchronizer,
  scopedSynchronizerInternals,
  type SyncScope,
} from './scoped-synchronizer.js'
export { ClinicSettlement } from './clinic-settlement.js'
export type { RoundListener } from './clinic-settlement.js'
export type { ResolutionInput, ResolutionOutcome } from './relay-authority.js'
export { FileSettlementStore, decodeCheckpoint, encodeCheckpoint, emptyMeta } from './settlement-store.js'
export type {
  Checkpoint,
  CheckpointMeta,
  DeviceProgress,
  PublishedDoc,
  RejectedOp,
  SettlementStore,
} from './settlement-store.js'
export type { PublishedSource } from './clinic-settlement.js'
export type {
  ClinicOwnership,
  ClinicRoutes,
  Fence,
  OwnershipEvents,
  RelayState,
  StateEvents,
} from './relay-state.js'
export { FileRelayState, SoleOwnership } from './file-relay-state.js'
export { PostgresRelayState } from './postgres-relay-state.js'
export { DocRefresher } from './doc-refresher.js'
export type { ChunkSource } from './doc-refresher.js'
export type { PostgresRelayStateInit } from './postgres-relay-state.js'
export { LeaseOwnership } from './lease-ownership.js'
export { InstanceRoutes } from './instance-routes.js'
export { isPublicUrl } from './sync-gate.js'
export type { RenewalLateness } from './lease-ownership.js'
export type { LeaseInit } from './lease-ownership.js'
export { PostgresSettlementStore } from './pg-checkpoints.js'
export { FENCED_CHUNK } from './fenced-storage.js'
export { createRelaySchema, RELAY_CHANNEL, CHUNK_TABLE } from './pg-schema.js'
export { ClinicRegistry, FileRegistryBackend, mergeRegistration } from './clinic-registry.js'
export type { ClinicEntry, RegistryBackend } from './clinic-registry.js'
export { watermarks, noteSeq } from './watermarks.js'
export type { Logger } from './logger.js'
export {
  CheckpointError,
  ConflictNotOpenError,
  LeaseLostError,
  NotSettlerError,
  ClinicOpeningError,
  RelayStateError,
  MalformedJsonError,
  PayloadTooLargeError,
  RegistrationConflictError,
  RelayHttpError,
  RouteNotFoundError,
  UnknownClinicError,
} from './errors.js'
export { DraftDoc } from './published-doc.js'
