import { ClinicMeshError } from '@clinic-mesh/contracts'

/** An operation (untrusted input or a draft) that does not match its schema, its hash or its device chain. */
export class InvalidOperationError extends ClinicMeshError {
  /** Stable reason code, e.g. `bad-field`, `hash-mismatch`, `wrong-device`. */
  readonly reason: string
  /** Dotted path of the offending field, when there is one. */
  readonly field: string | null
  constructor(reason: string, message: string, field: string | null = null) {
    super('InvalidOperationError', message)
    this.reason = reason
    this.field = field
  }
}

/** A resolution of a critical conflict without the second (supervisor) approver it needs, or by a role that may not resolve. */
export class ResolutionApprovalError extends ClinicMeshError {
  constructor(message: string) {
    super('ResolutionApprovalError', message)
  }
}

/** A resolution whose decision cannot be applied to that conflict (wrong action, not enough stock, unknown lot...). */
export class ResolutionNotApplicableError extends ClinicMeshError {
  constructor(message: string) {
    super('ResolutionNotApplicableError', message)
  }
}

/** A resolution that names a conflict the engine does not hold, or one already resolved. */
export class UnknownConflictError extends ClinicMeshError {
  constructor(message: string) {
    super('UnknownConflictError', message)
  }
}

/** A persisted engine snapshot that cannot be read back. */
export class SnapshotError extends ClinicMeshError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SnapshotError', message, options)
  }
}
