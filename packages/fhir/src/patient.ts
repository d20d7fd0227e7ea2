import type { Identifier, Patient, PatientLink } from '@medplum/fhirtypes'
import { fhirId, ourIdentifier, patientRef } from './ids.js'
import type { PlainChart, PlainLink } from './plain.js'
import { IDENTIFIER_PREFIX } from './systems.js'

const URI = /^[a-z][a-z0-9+.-]*:/i

/** Our identifier system (`national-id`) as a FHIR uri (`urn:clinic-mesh:identifier:national-id`); uris stay as they are. */
export function identifierSystemToFhir(system: string): string {
  return URI.test(system) ? system : `${IDENTIFIER_PREFIX}${system}`
}

/** The reverse of `identifierSystemToFhir`. */
export function identifierSystemFromFhir(system: string): string {
  return system.startsWith(IDENTIFIER_PREFIX) ? system.slice(IDENTIFIER_PREFIX.length) : system
}

/**
 * Patient: our id (as an identifier too), every identifier with its system, name, birth date, gender; each active
 * same-person link (records `linkPatients`) as a `seealso` link to the other chart (linked, not merged).
 */
export function toPatient(chart: PlainChart, links: readonly PlainLink[] = []): Patient {
  const p = chart.patient
  const identifier: Identifier[] = [ourIdentifier('patient', p.id)]
  for (const i of Object.values(p.identifiers))
    identifier.push({ system: identifierSystemToFhir(i.system), value: i.value })
  const name = {
    use: 'official' as const,
    ...(p.name.family ? { family: p.name.family } : {}),
    ...(p.name.given ? { given: [p.name.given] } : {}),
  }
  const out: Patient = {
    resourceType: 'Patient',
    id: fhirId(p.id),
    meta: { lastUpdated: p.updatedAt },
    identifier,
    active: true,
    name: [name],
    gender: p.sex,
    birthDate: p.birthDate,
  }
  const link: PatientLink[] = []
  for (const l of links) {
    if (!l.active || (l.a !== p.id && l.b !== p.id)) continue
    link.push({ other: patientRef(l.a === p.id ? l.b : l.a), type: 'seealso' })
  }
  if (link.length) out.link = link
  return out
}
