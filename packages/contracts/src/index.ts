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
export type {
  DocUrl,
  ClinicDirectoryDoc,
  SettledInventoryDoc,
  ConflictQueueDoc,
  RelaySignature,
} from './directory.js'
export type { InputIssue } from './errors.js'
export { parseWith, tryParse, issuesOf, describeIssues } from './parse.js'
export type { Schema, Output, Input } from './parse.js'
export { nonEmpty, text, id, int, nonZeroInt, anyInt, hex64, isoDate, oneOf, bool } from './fields.js'
export { RoleSchema } from './role-schema.js'
export {
  OPERATION_VERSION,
  OPERATION_BODIES,
  OPERATION_HEADER,
  OPERATION_SCHEMAS,
  OperationSchema,
  ApprovalSchema,
  AdjustmentApprovalSchema,
  DecisionSchema,
  HlcSchema,
} from './ledger-ops.js'
export type {
  OperationKind,
  ApprovalShape,
  AdjustmentApprovalShape,
  DecisionShape,
  OperationShape,
  OperationShapeOf,
} from './ledger-ops.js'
export * from './device-api/auth.js'
export * from './device-api/admin.js'
export * from './device-api/records.js'
export * from './device-api/status.js'
export * from './device-api/stock.js'
export * from './device-api/stock-control.js'
export * from './relay-api/clinic-id.js'
export * from './relay-api/registration.js'
export * from './relay-api/reviewer.js'
export * from './relay-api/conflict-view.js'
export * from './relay-api/formulary.js'
export * from './relay-api/prescription-status.js'
export * from './documents/membership.js'
export * from './documents/patient-summary.js'
export * from './records/inputs.js'
export * from './records/prescription-line.js'
export * from './device-api/join.js'
export * from './sync/refusal.js'
