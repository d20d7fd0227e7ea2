import { ClinicMeshError } from '@clinic-mesh/contracts'

/** A packed summary string that this version cannot read. */
export class SummaryCodecError extends ClinicMeshError {
  constructor(message: string) {
    super('SummaryCodecError', message)
  }
}

/** The clinic root document is missing, unreadable or of an unknown layout. */
export class LayoutError extends ClinicMeshError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('LayoutError', message, options)
  }
}

/** A patient id that no chart bucket holds. */
export class UnknownPatientError extends ClinicMeshError {
  constructor(id: string) {
    super('UnknownPatientError', `no chart for patient ${id}`)
  }
}
