import { ClinicMeshError } from '@clinic-mesh/contracts'

/** This machine cannot make network namespaces (not root, or no iproute2); the message says why. */
export class NetnsUnavailableError extends ClinicMeshError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NetnsUnavailableError', message, options)
  }
}
