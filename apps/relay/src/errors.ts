import { ClinicMeshError } from '@clinic-mesh/contracts'

/** An error the HTTP API answers with a 4xx status: `{ error: { name, message } }`. */
export class RelayHttpError extends ClinicMeshError {
  readonly status: number
  constructor(name: string, status: number, message: string, options?: { cause?: unknown }) {
    super(name, message, options)
    this.status = status
  }
}

/** The request body is not valid JSON. */
export class MalformedJsonError extends RelayHttpError {
  constructor(message: string) {
    super('MalformedJsonError', 400, message)
  }
}

/** The request body is larger than the API accepts. */
export class PayloadTooLargeError extends RelayHttpError {
  constructor(limit: number) {
    super('PayloadTooLargeError', 413, `request body over ${limit} bytes`)
  }
}

/** No such route or method. */
export class RouteNotFoundError extends RelayHttpError {
  constructor(method: string, path: string) {
    super('RouteNotFoundError', 404, `no route ${method} ${path}`)
  }
}

/** The clinic has not been registered with this relay. */
export class UnknownClinicError extends RelayHttpError {
  constructor(clinic: string) {
    super('UnknownClinicError', 404, `clinic ${clinic} is not registered`)
  }
}

/** A clinic id already registered with another directory, or a document already claimed by another clinic. */
export class RegistrationConflictError extends RelayHttpError {
  constructor(message: string) {
    super('RegistrationConflictError', 409, message)
  }
}

/** The conflict exists but is no longer open. */
export class ConflictNotOpenError extends RelayHttpError {
  constructor(id: string) {
    super('ConflictNotOpenError', 409, `conflict ${id} is already resolved`)
  }
}

/** A persisted relay checkpoint or registry that cannot be read back. */
export class CheckpointError extends ClinicMeshError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CheckpointError', message, options)
  }
}

/** The clinic's user register is not at the relay yet, so no reviewer of that clinic can be checked. */
export class ReviewerUnknownError extends ClinicMeshError {
  constructor(message: string) {
    super('ReviewerUnknownError', message)
  }
}

/** A device's proof of its key is missing, stale (unknown or used nonce) or does not verify: 401. */
export class DeviceAuthError extends RelayHttpError {
  constructor(message: string) {
    super('DeviceAuthError', 401, message)
  }
}

/** The device proved its key but no admin of the clinic enrolled it (or the enrolment is for another device): 403. */
export class NotEnrolledError extends RelayHttpError {
  constructor(message: string) {
    super('NotEnrolledError', 403, message)
  }
}

/** A peer sent changes to a document only the relay writes (settled inventory, conflict queue): the socket closes 1008. */
export class ForbiddenWriteError extends ClinicMeshError {
  constructor(message: string) {
    super('ForbiddenWriteError', message)
  }
}

/**
 * A write of a clinic's settlement (checkpoint and published documents) by an instance that no longer holds the
 * clinic's lease: another instance took it over (a higher epoch). Nothing was written.
 */
export class LeaseLostError extends ClinicMeshError {
  readonly clinic: string
  constructor(clinic: string, message: string) {
    super('LeaseLostError', message)
    this.clinic = clinic
  }
}

/** A settlement write (resolution, formulary entry) sent to an instance that does not settle the clinic: 503. */
export class NotSettlerError extends RelayHttpError {
  constructor(clinic: string) {
    super(
      'NotSettlerError',
      503,
      `this relay instance does not settle clinic ${clinic} now; another instance does: retry (or retry elsewhere)`,
    )
  }
}

/**
 * A registered clinic this instance had not open yet, still opening when the request's wait ran out: 503 with
 * `Retry-After` (never 404: the clinic exists).
 */
export class ClinicOpeningError extends RelayHttpError {
  readonly retryAfterS: number
  constructor(clinic: string, retryAfterS = 1) {
    super(
      'ClinicOpeningError',
      503,
      `clinic ${clinic} is being opened on this relay instance: retry in ${retryAfterS} s`,
    )
    this.retryAfterS = retryAfterS
  }
}

/** The relay's shared state in PostgreSQL could not be read or written. */
export class RelayStateError extends ClinicMeshError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RelayStateError', message, options)
  }
}
