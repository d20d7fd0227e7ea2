/**
 * Base class of every error clinic-mesh throws on purpose. `name` is stable and part of the contract:
 * callers and tests branch on it, never on the message.
 */
export class ClinicMeshError extends Error {
  readonly code: string
  constructor(name: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = name
    this.code = name
  }
}

/** Input that does not match the expected shape. */
export class InvalidInputError extends ClinicMeshError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('InvalidInputError', message, options)
  }
}

export function isClinicMeshError(err: unknown): err is ClinicMeshError {
  return err instanceof ClinicMeshError
}

/** A value `canonicalJson` cannot encode: `reason` is `bad-number` (NaN, ±Infinity) or `bad-value` (bigint, function, symbol, undefined). */
export class CanonicalJsonError extends ClinicMeshError {
  readonly reason: 'bad-number' | 'bad-value'
  constructor(reason: 'bad-number' | 'bad-value', message: string) {
    super('CanonicalJsonError', message)
    this.reason = reason
  }
}
