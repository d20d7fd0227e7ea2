import { ClinicMeshError } from '@clinic-mesh/contracts'

/** A record cannot be expressed as a valid FHIR resource (e.g. an id no FHIR id can carry). Nothing was mapped. */
export class FhirMappingError extends ClinicMeshError {
  constructor(message: string) {
    super('FhirMappingError', message)
  }
}

/** A FHIR resource or Bundle given for import is not one we read (wrong type, missing required field). */
export class FhirInputError extends ClinicMeshError {
  constructor(message: string) {
    super('FhirInputError', message)
  }
}
