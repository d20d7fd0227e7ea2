export { DeviceNode } from './device-node.js'
export type { DeviceNodeInit, MembershipDoc } from './device-node.js'
export { DeviceLedger } from './device-ledger.js'
export type { StockView } from './device-ledger.js'
export { RelayLink } from './relay-link.js'
export type { RelayRegistration, RelayStatus } from './relay-link.js'
export { loadDevice, newClinicFile } from './device-config.js'
export type { DeviceConfig, LoadedDevice, LoadInit } from './device-config.js'
export { readClinicFile, updateClinicFile } from './clinic-file.js'
export type { ClinicFile } from './clinic-file.js'
export { MAX_BODY_BYTES } from './http-util.js'
export {
  ClinicNotReadyError,
  ConfigError,
  IdempotencyConflictError,
  MalformedJsonError,
  PayloadTooLargeError,
  RouteNotFoundError,
} from './errors.js'
