export { Relay } from './relay.js'
export type { RelayOptions } from './relay.js'
export { AccessMap } from './access-map.js'
export { ClinicSettlement } from './clinic-settlement.js'
export type { ResolutionInput, ResolutionOutcome, RoundListener } from './clinic-settlement.js'
export { FileSettlementStore, decodeCheckpoint, encodeCheckpoint, emptyMeta } from './settlement-store.js'
export type {
  Checkpoint,
  CheckpointMeta,
  DeviceProgress,
  RejectedOp,
  SettlementStore,
} from './settlement-store.js'
export { watermarks, noteSeq } from './watermarks.js'
export type { Logger } from './logger.js'
export {
  CheckpointError,
  ConflictNotOpenError,
  MalformedJsonError,
  PayloadTooLargeError,
  RegistrationConflictError,
  RelayHttpError,
  RouteNotFoundError,
  UnknownClinicError,
} from './errors.js'
