import { ClinicMeshError } from '@clinic-mesh/contracts'

/** A chunk or wrapped key failed authentication: wrong key, wrong storage key path, or tampered bytes. */
export class DecryptionError extends ClinicMeshError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DecryptionError', message, options)
  }
}

/** The key file is missing, malformed, or the secret does not open it. `reason` is a stable code. */
export class KeyFileError extends ClinicMeshError {
  readonly reason: 'missing' | 'exists' | 'malformed' | 'wrong-secret' | 'unknown-key' | 'in-use'
  constructor(reason: KeyFileError['reason'], message: string, options?: { cause?: unknown }) {
    super('KeyFileError', message, options)
    this.reason = reason
  }
}

/** Wrong user name or password (never says which). */
export class InvalidPasswordError extends ClinicMeshError {
  constructor(message = 'unknown user or wrong password') {
    super('InvalidPasswordError', message)
  }
}

/** Too many failed logins: no attempt is checked before `until` (ms since epoch). */
export class AccountLockedError extends ClinicMeshError {
  readonly until: number
  /** true: the 15-minute lockout; false: the short back-off delay after a failure. */
  readonly lockout: boolean
  constructor(until: number, lockout: boolean) {
    super(
      'AccountLockedError',
      lockout ? `account locked until ${new Date(until).toISOString()}` : 'wait before trying again',
    )
    this.until = until
    this.lockout = lockout
  }
}

/** The role may not perform the action in this context (role, offline, stale knowledge base, disabled user). */
export class ForbiddenError extends ClinicMeshError {
  readonly reason: string
  constructor(reason: string, message: string) {
    super('ForbiddenError', message)
    this.reason = reason
  }
}

/** An audit chain failed verification (deleted, reordered or altered entries). */
export class AuditChainError extends ClinicMeshError {
  readonly reason: string
  readonly index: number
  constructor(reason: string, index: number, message: string) {
    super('AuditChainError', message)
    this.reason = reason
    this.index = index
  }
}
