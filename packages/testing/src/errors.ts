import { ClinicMeshError } from '@clinic-mesh/contracts'

/** This machine cannot make network namespaces (not root, or no iproute2); the message says why. */
export class NetnsUnavailableError extends ClinicMeshError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NetnsUnavailableError', message, options)
  }
}

/** PostgreSQL could not be initialised or started; `output` holds what initdb / pg_ctl / the server log said. */
export class PostgresUnavailableError extends ClinicMeshError {
  readonly output: string
  constructor(message: string, output: string, options?: { cause?: unknown }) {
    super('PostgresUnavailableError', `${message}${output ? `\n--- output ---\n${output}` : ''}`, options)
    this.output = output
  }
}
