import { createHash } from 'node:crypto'
import type { Device, Identifier, Patient, Practitioner, Reference, Resource } from '@medplum/fhirtypes'
import { ID_SYSTEM } from './systems.js'

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/

/**
 * A FHIR id for one of our ids: `pt_0a1b…` → `pt-0a1b…` (FHIR ids allow no `_`). An id that still does not fit
 * (a caller-chosen MAR id with other characters, or over 64 characters) becomes `h-` + 40 hex of its sha-256: stable,
 * and the original stays in the resource's identifier.
 */
export function fhirId(id: string): string {
  const dashed = id.replace(/_/g, '-')
  if (FHIR_ID.test(dashed)) return dashed
  return `h-${createHash('sha256').update(id).digest('hex').slice(0, 40)}`
}

/** `${part}-${part}`… joined into one FHIR id (for resources derived from one record, e.g. one vital sign of a set). */
export function childId(id: string, suffix: string): string {
  return fhirId(`${fhirId(id)}-${suffix}`)
}

export function ref<T extends Resource>(type: T['resourceType'], id: string): Reference<T> {
  return { reference: `${type}/${fhirId(id)}` }
}

export function patientRef(id: string): Reference<Patient> {
  return ref<Patient>('Patient', id)
}

export function deviceRef(id: string): Reference<Device> {
  return ref<Device>('Device', id)
}

/** A user of the clinic as a Practitioner (the register's users are the clinic's staff). */
export function userRef(user: string): Reference<Practitioner> {
  return ref<Practitioner>('Practitioner', user)
}

export function ourIdentifier(kind: keyof typeof ID_SYSTEM, value: string): Identifier {
  return { system: ID_SYSTEM[kind], value }
}
