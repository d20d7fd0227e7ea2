import { ClinicMeshError } from '@clinic-mesh/contracts'

/** Why a PostgreSQL storage operation failed: the database could not be reached, or it refused the statement. */
export type PostgresStorageReason = 'unreachable' | 'query'

/**
 * A storage operation against PostgreSQL failed; nothing was saved (or removed) by it. `reason` tells an unreachable
 * database (refused, reset, timed out, shut down) from a refused statement; `cause` is the driver's error.
 */
export class PostgresStorageError extends ClinicMeshError {
  readonly reason: PostgresStorageReason
  constructor(reason: PostgresStorageReason, message: string, options?: { cause?: unknown }) {
    super('PostgresStorageError', message, options)
    this.reason = reason
  }
}

/** The table name is not a plain (optionally schema-qualified) lower-case SQL identifier. */
export class InvalidTableNameError extends ClinicMeshError {
  constructor(table: string) {
    super(
      'InvalidTableNameError',
      `invalid table name ${JSON.stringify(table)}: use [a-z_][a-z0-9_]* (optionally schema.table)`,
    )
  }
}
