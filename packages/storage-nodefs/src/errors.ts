import { ClinicMeshError } from '@clinic-mesh/contracts'

/** The disk is full: the chunk is not on disk (held in memory by the repo, not durable; nothing earlier is lost). HTTP 507. */
export class StorageFullError extends ClinicMeshError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('StorageFullError', message, options)
  }
}

/** The storage refuses writes (read-only, permissions, I/O error): the chunk is not on disk. HTTP 503. */
export class StorageUnavailableError extends ClinicMeshError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('StorageUnavailableError', message, options)
  }
}
