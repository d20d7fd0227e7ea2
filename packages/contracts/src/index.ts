export type {
  Brand,
  ClinicId,
  DeviceId,
  UserId,
  PatientId,
  EncounterId,
  PrescriptionId,
  ItemId,
  BatchId,
  LocationId,
  OperationId,
  ConflictId,
} from './ids.js'
export { newId } from './ids.js'
export { ROLES, isRole } from './roles.js'
export type { Role } from './roles.js'
export { CanonicalJsonError, ClinicMeshError, InvalidInputError, isClinicMeshError } from './errors.js'
export { canonicalJson } from './canonical-json.js'
export type { DocUrl, ClinicDirectoryDoc, SettledInventoryDoc, ConflictQueueDoc, RelaySignature } from './directory.js'
