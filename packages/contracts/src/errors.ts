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

/** One invalid field: its dotted path (`''` for the whole value) and what is wrong, in plain words. */
export interface InputIssue {
  readonly path: string
  readonly message: string
}

/** Input that does not match the expected shape. `issues` names every invalid field (empty when not known field by field). */
export class InvalidInputError extends ClinicMeshError {
  readonly issues: readonly InputIssue[]
  constructor(message: string, options?: { cause?: unknown; issues?: readonly InputIssue[] }) {
    super('InvalidInputError', message, options)
    this.issues = options?.issues ?? []
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
