import { ClinicMeshError } from '@clinic-mesh/contracts'

/** The request body is not JSON (or is empty where a body is required). */
export class MalformedJsonError extends ClinicMeshError {
  constructor(message: string) {
    super('MalformedJsonError', message)
  }
}

/** The request body is larger than the API accepts (1 MiB). */
export class PayloadTooLargeError extends ClinicMeshError {
  constructor(message: string) {
    super('PayloadTooLargeError', message)
  }
}

/** No such API route (or method). */
export class RouteNotFoundError extends ClinicMeshError {
  constructor(message: string) {
    super('RouteNotFoundError', message)
  }
}

/** An idempotency key reused with different content. */
export class IdempotencyConflictError extends ClinicMeshError {
  constructor(message: string) {
    super('IdempotencyConflictError', message)
  }
}

/** The clinic is not open on this device yet (still fetching the directory from peers). */
export class ClinicNotReadyError extends ClinicMeshError {
  constructor(message: string) {
    super('ClinicNotReadyError', message)
  }
}

/** Bad command line or configuration (data dir, clinic file). */
export class ConfigError extends ClinicMeshError {
  constructor(message: string) {
    super('ConfigError', message)
  }
}

/** The data dir is (or would be) encrypted and no device unlock secret was given (`--secret-file` or env). */
export class DeviceSecretRequiredError extends ClinicMeshError {
  constructor(message: string) {
    super('DeviceSecretRequiredError', message)
  }
}

/** The request needs a logged-in user (no session, or it expired or was ended). */
export class UnauthenticatedError extends ClinicMeshError {
  constructor(message: string) {
    super('UnauthenticatedError', message)
  }
}

/** A user of that name already exists in the clinic's register. */
export class UserExistsError extends ClinicMeshError {
  constructor(message: string) {
    super('UserExistsError', message)
  }
}

/** No (endorsed) user with that id in the clinic's register. */
export class UnknownUserError extends ClinicMeshError {
  constructor(message: string) {
    super('UnknownUserError', message)
  }
}

/** A stock operation needs the user's signing key, which is unlocked only by a login on this run of the node. */
export class SigningKeyLockedError extends ClinicMeshError {
  constructor(message: string) {
    super('SigningKeyLockedError', message)
  }
}

// StorageFullError (507) and StorageUnavailableError (503) live with the storage stack: @clinic-mesh/storage-nodefs.

/** This device was revoked by the clinic: its clinic data is wiped and it serves nothing any more. */
export class DeviceRevokedError extends ClinicMeshError {
  constructor(message: string) {
    super('DeviceRevokedError', message)
  }
}

/** The action needs the clinic admin key, which this device does not hold. */
export class AdminKeyUnavailableError extends ClinicMeshError {
  constructor(message: string) {
    super('AdminKeyUnavailableError', message)
  }
}

/** `POST /api/mesh/dial`: the address did not answer as a device of this clinic (unreachable, refused, not enrolled). */
export class PeerUnreachableError extends ClinicMeshError {
  constructor(message: string) {
    super('PeerUnreachableError', message)
  }
}

/** Seeding the starting formulary through a device's API failed (login refused, an entry refused). */
export class FormularySeedError extends ClinicMeshError {
  /** The HTTP status that refused it (503: the clinic is still opening on that device: try again). */
  readonly status: number
  constructor(message: string, status: number) {
    super('FormularySeedError', message)
    this.status = status
  }
}

/**
 * A browser's change would leave a prescription line that is not a valid coded line (no formulary item, no quantity,
 * an empty dose...): the node refuses the whole sync message (issue 15, prescribing from the formulary).
 */
export class InvalidPrescriptionLineError extends ClinicMeshError {
  constructor(message: string) {
    super('InvalidPrescriptionLineError', message)
  }
}

/**
 * A browser's MAR entry the node cannot accept as written (bad fields, no signed prescription line, a correction of
 * nothing or of another line, another author than the signed-in user): the whole sync message is refused (issue 15).
 */
export class InvalidMarEntryError extends ClinicMeshError {
  constructor(message: string) {
    super('InvalidMarEntryError', message)
  }
}

/**
 * The signed prescription a dispense is made against does not verify on this node (its content changed after
 * signing, a bad or missing signature, concurrent edits): nothing is dispensed. `reason` is records' VERIFY_REASONS code.
 */
export class PrescriptionVerificationError extends ClinicMeshError {
  readonly reason: string
  constructor(reason: string, message: string) {
    super('PrescriptionVerificationError', message)
    this.reason = reason
  }
}

/** The lot (or item) chosen for a dispense is not the formulary item the prescription line prescribes. */
export class LotNotPrescribedError extends ClinicMeshError {
  constructor(message: string) {
    super('LotNotPrescribedError', message)
  }
}

/**
 * The central office put the prescription on hold, cancelled or superseded it (a relay-signed status this device
 * received): nothing is dispensed against it until the hold is released (seed 000, issue 15 item 8).
 */
export class PrescriptionNotActiveError extends ClinicMeshError {
  readonly status: string
  constructor(status: string, message: string) {
    super('PrescriptionNotActiveError', message)
    this.status = status
  }
}

/** A count or adjustment names a lot this node does not know as a lot of that item: nothing recorded. */
export class UnknownLotError extends ClinicMeshError {
  constructor(message: string) {
    super('UnknownLotError', message)
  }
}
