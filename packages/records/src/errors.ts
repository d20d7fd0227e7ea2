import { ClinicMeshError, type InputIssue } from '@clinic-mesh/contracts'

/** Helper input that fails validation (bad date, unknown enum value, implausible vital sign). Nothing was written. */
export class InvalidRecordError extends ClinicMeshError {
  /** Each broken rule with its dotted field path (`patient.birthDate`), when the input was checked field by field. */
  readonly issues: readonly InputIssue[]
  constructor(message: string, issues: readonly InputIssue[] = []) {
    super('InvalidRecordError', message)
    this.issues = issues
  }
}

/** A helper was asked to change a prescription that is already signed (signed Rx are clinically immutable). */
export class SignedPrescriptionError extends ClinicMeshError {
  constructor(message: string) {
    super('SignedPrescriptionError', message)
  }
}

/** An append-only entry (MAR event, link record) would have been overwritten. */
export class AppendOnlyError extends ClinicMeshError {
  constructor(message: string) {
    super('AppendOnlyError', message)
  }
}

/** A referenced patient, encounter, prescription, item or entry does not exist. */
export class UnknownRecordError extends ClinicMeshError {
  constructor(message: string) {
    super('UnknownRecordError', message)
  }
}

/** A record with this id exists already (e.g. registering a patient id twice). */
export class DuplicateRecordError extends ClinicMeshError {
  constructor(message: string) {
    super('DuplicateRecordError', message)
  }
}

/** The collection was written by a newer version of the code than this one. */
export class UnsupportedSchemaError extends ClinicMeshError {
  constructor(message: string) {
    super('UnsupportedSchemaError', message)
  }
}

/**
 * The prescription is not (or no longer) the version the signer meant: the draft changed after it was shown or
 * sent for signing (e.g. the tablet's last edit had not reached the device node yet). Nothing was signed.
 */
export class PrescriptionChangedError extends ClinicMeshError {
  constructor(message: string) {
    super('PrescriptionChangedError', message)
  }
}
