export type { Hlc } from './hlc.js'
export { HybridClock, compareHlc } from './hlc.js'
export type {
  AdjustmentApproval,
  Approval,
  Decision,
  Operation,
  OperationBody,
  OperationHeader,
  OperationKind,
  OperationOf,
  UnsignedOperation,
} from './operation.js'
export { OPERATION_KINDS, OPERATION_VERSION } from './operation.js'
export { encodeOperation, hashOperation } from './canonical.js'
export type { BatchValidation } from './validate.js'
export { validateBatch, validateOperation } from './validate.js'
export type { ChainHead, DeviceLogInit, Session } from './device-log.js'
export { DeviceLog } from './device-log.js'
export type { DeviceLogDoc, RunSignature } from './log-doc.js'
export { LOG_DOC_SCHEMA, LOG_DOC_SCHEMAS, RUN_MAX, appendOperation, newLogDoc, periodOf } from './log-doc.js'
export type { LogEntry, SignatureEntry } from './log-doc.js'
export { lastLogOp, logEntries, logOps, logSignatures, packFor } from './log-entries.js'
export type { BatchState, InventoryState, ItemState, PrescriptionStatusState } from './inventory.js'
export { EMPTY_INVENTORY, expiryEnd } from './inventory.js'
export type { Projection, ProjectionLine, ProjectionWarning } from './projection.js'
export { project } from './projection.js'
export type { FefoAllocation, FefoLot, FefoPick } from './fefo.js'
export { allocateFefo, compareFefo, isExpired } from './fefo.js'
export type { FefoSuggestion } from './suggest-fefo.js'
export { suggestFefo } from './suggest-fefo.js'
export type { Authoritative, Conflict, ConflictKind, Refusal, ResolutionRecord, Seen } from './conflict.js'
export { CONFLICT_KINDS } from './conflict.js'
export { dispensedByLine, unitsAfterDecision } from './prescription-lines.js'
export { prescriptionLineKey, prescriptionStateOf } from './apply-op.js'
export type { PrescriptionState } from './apply-op.js'
export type { ApprovalNeed } from './resolve.js'
export { RESOLVER_ROLES, approvalNeeded } from './resolve.js'
export type { DecisionAction } from './decisions.js'
export { applicableDecisions, isDecisionApplicable } from './decisions.js'
export type { JournalEntry } from './stock-book.js'
export type {
  EngineOptions,
  IngestReport,
  OpStatus,
  PendingOp,
  PendingReason,
  SettlementRound,
} from './settlement-engine.js'
export { SettlementEngine } from './settlement-engine.js'
export type { SettleResult } from './settle.js'
export { settle } from './settle.js'
export {
  InvalidOperationError,
  ResolutionApprovalError,
  ResolutionNotApplicableError,
  SnapshotError,
  UnknownConflictError,
} from './errors.js'
export type {
  ConflictQueueContent,
  Ed25519Sign,
  Ed25519Verify,
  RelayDocCheck,
  RelayDocExpect,
  RelayDocReason,
  SettledInventoryContent,
} from './relay-signed.js'
export {
  CONFLICT_QUEUE_CONTEXT,
  SETTLED_INVENTORY_CONTEXT,
  conflictQueueBytes,
  newRelaySecret,
  relayPublicKeyOf,
  settledInventoryBytes,
  signConflictQueue,
  signSettledInventory,
  verifyConflictQueue,
  verifySettledInventory,
} from './relay-signed.js'
export type { EssentialMedicine } from './essential-medicines.js'
export { ESSENTIAL_MEDICINES, essentialFormularyUpdate, medicineName } from './essential-medicines.js'
export type { RegisterConflict, RegisterKind, RegisterLine } from './stock-register.js'
export { REGISTER_KINDS, stockRegister } from './stock-register.js'
