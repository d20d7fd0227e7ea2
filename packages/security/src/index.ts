export {
  AccountLockedError,
  AuditChainError,
  DecryptionError,
  ForbiddenError,
  InvalidPasswordError,
  KeyFileError,
} from './errors.js'
export type { DataKey } from './keyring.js'
export { Keyring, generateDataKey, importDataKey } from './keyring.js'
export type { KeyFileData, KeyFileOptions } from './key-file.js'
export {
  changeKeyFileSecret,
  createKeyFile,
  openKeyFile,
  readKeyFileKdf,
  retireKeyFromFile,
  rotateKeyFile,
} from './key-file.js'
export type { ScryptParams } from './scrypt-params.js'
export { KEY_FILE_SCRYPT, PASSWORD_SCRYPT } from './scrypt-params.js'
export type {
  CreateUserInput,
  PasswordHash,
  UserRecord,
  UserRegister,
  UserRegisterDoc,
  UserStatus,
  WrappedKey,
} from './user-register.js'
export {
  MIN_PASSWORD_LENGTH,
  changePassword,
  credentialBytes,
  isRecordVersion,
  rewrapUser,
  createUser,
  resolveUserId,
  unlockSigningKey,
  userIdOf,
  verifyPassword,
} from './user-register.js'
export type {
  CredentialPart,
  Endorsement,
  EndorsedPart,
  EndorsedUserRecord,
  HeldUser,
  ReconciledUsers,
  UserHighWater,
} from './user-endorsement.js'
export {
  compareCredentials,
  compareEndorsed,
  endorseUser,
  endorsedUsers,
  endorsementBytes,
  nextVersion,
  reconcileUsers,
  withoutVerifiers,
} from './user-endorsement.js'
export type { AttemptRecord, AttemptStore, LoginGuardInit, LoginPolicy, Session } from './login-guard.js'
export {
  DEFAULT_LOGIN_POLICY,
  LoginGuard,
  MemoryAttemptStore,
  attemptsThatCount,
  failedAttempt,
  logout,
} from './login-guard.js'
export type { Action, Decision, PolicyContext } from './policy.js'
export { ACTIONS, MAX_KB_AGE_DAYS, POLICY, assertCan, can, decide } from './policy.js'
export type {
  BatchCheck,
  BatchKeys,
  BatchReason,
  BatchSummary,
  ChainedOp,
  SignedBatch,
} from './signed-batch.js'
export {
  BATCH_REASONS,
  BATCH_SIGNATURE_CONTEXT,
  BATCH_VERSION,
  batchSigningBytes,
  hashOp,
  signBatch,
  splitByUser,
  verifyBatch,
} from './signed-batch.js'
export type {
  AuditAction,
  AuditDetail,
  AuditEntry,
  AuditHead,
  ChainCheck,
  SignedAuditHead,
  Touch,
} from './audit-log.js'
export {
  AuditLog,
  hashAuditEntry,
  signAuditHead,
  verifyAuditHead,
  verifyChain,
  whoTouched,
} from './audit-log.js'
export type {
  CheckedChange,
  DocKind,
  FieldRule,
  FieldWrite,
  WriteAuthority,
  WriteCheck,
  WriteDecision,
} from './field-policy.js'
export {
  DOC_KINDS,
  READ_POLICY,
  WRITE_POLICY,
  actorWriteProblem,
  checkWrites,
  decideWrite,
  fieldRule,
  mayRead,
} from './field-policy.js'
export type { Resolution, ResolvedChange, ResolvedWrite } from './change-writes.js'
export { resolveChanges } from './change-writes.js'
export type { PasswordWrapped } from './password-wrap.js'
export { openField, sealField, unwrapUnderPassword, wrapUnderPassword } from './password-wrap.js'
export type { SameOriginErrors } from './same-origin.js'
export { SameOriginGuard } from './same-origin.js'
export type { ApprovedAdjustment } from './adjustment-approval.js'
export {
  ADJUSTMENT_APPROVAL_CONTEXT,
  adjustmentApprovalBytes,
  signAdjustmentApproval,
  verifyAdjustmentApproval,
} from './adjustment-approval.js'
