import { randomUUID } from 'node:crypto'
import type {
  Bundle,
  Composition,
  CompositionSection,
  Condition,
  Reference,
  Resource,
} from '@medplum/fhirtypes'
import { toDevice } from './agents.js'
import { fullUrl, type BundleOptions } from './bundle.js'
import { ref } from './ids.js'
import { LIST_EMPTY_REASON, LOINC } from './systems.js'

/** The International Patient Summary: Composition type and the three required sections (LOINC). */
export const IPS = {
  composition: { code: '60591-5', display: 'Patient summary Document' },
  medications: {
    code: '10160-0',
    display: 'History of Medication use Narrative',
    title: 'Medication Summary',
  },
  allergies: {
    code: '48765-2',
    display: 'Allergies and adverse reactions Document',
    title: 'Allergies and Intolerances',
  },
  problems: { code: '11450-4', display: 'Problem list - Reported', title: 'Problem List' },
} as const

export interface SummaryOptions extends BundleOptions {
  /** The device that assembles the summary: the Composition's author. */
  readonly device: { id: string; name?: string; peerId?: string }
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function textOf(r: Resource): string {
  if (r.resourceType === 'MedicationRequest')
    return `${r.medicationCodeableConcept?.text ?? ''}: ${r.dosageInstruction?.[0]?.text ?? ''}`
  if (r.resourceType === 'AllergyIntolerance')
    return `${r.code?.text ?? ''} (criticality ${r.criticality ?? 'unknown'})`
  if (r.resourceType === 'Condition')
    return `${r.code?.text ?? r.code?.coding?.[0]?.code ?? ''} (${r.verificationStatus?.coding?.[0]?.code ?? ''})`
  return r.resourceType
}

function section(kind: 'medications' | 'allergies' | 'problems', entries: Resource[]): CompositionSection {
  const s = IPS[kind]
  const items = entries.map((r) => `<li>${escapeXml(textOf(r))}</li>`).join('')
  const div = entries.length
    ? `<div xmlns="http://www.w3.org/1999/xhtml"><ul>${items}</ul></div>`
    : `<div xmlns="http://www.w3.org/1999/xhtml">No information recorded.</div>`
  const out: CompositionSection = {
    title: s.title,
    code: { coding: [{ system: LOINC, code: s.code, display: s.display }] },
    text: { status: 'generated', div },
  }
  if (entries.length) out.entry = entries.map((r): Reference => ref(r.resourceType, r.id ?? ''))
  else
    out.emptyReason = { coding: [{ system: LIST_EMPTY_REASON, code: 'unavailable', display: 'Unavailable' }] }
  return out
}

function liveCondition(c: Condition): boolean {
  const v = c.verificationStatus?.coding?.[0]?.code
  const clinical = c.clinicalStatus?.coding?.[0]?.code
  return (
    v !== 'entered-in-error' &&
    v !== 'refuted' &&
    (clinical === 'active' || clinical === 'recurrence' || clinical === 'relapse')
  )
}

/**
 * `Patient/$summary`: an IPS `document` Bundle from a chart's resources (`chartResources`): a Composition (LOINC
 * 60591-5, subject the patient, author the device) with Medication Summary (active MedicationRequests), Allergies and
 * Intolerances (active AllergyIntolerances) and Problem List (active problem-list and encounter-diagnosis Conditions),
 * each with a generated narrative or an empty reason, then the Patient, the section entries and the Practitioners
 * and Device they reference.
 */
export function summaryBundle(resources: readonly Resource[], options: SummaryOptions): Bundle {
  const patient = resources.find((r) => r.resourceType === 'Patient')
  if (!patient?.id) throw new TypeError('summaryBundle needs the Patient among the resources')
  const meds = resources.filter((r) => r.resourceType === 'MedicationRequest' && r.status === 'active')
  const allergies = resources.filter(
    (r) => r.resourceType === 'AllergyIntolerance' && r.clinicalStatus?.coding?.[0]?.code === 'active',
  )
  const problems = resources.filter((r): r is Condition => r.resourceType === 'Condition' && liveCondition(r))
  const device = toDevice(options.device.id, options.device)
  const when = options.timestamp ?? new Date().toISOString()
  const composition: Composition = {
    resourceType: 'Composition',
    id: randomUUID(),
    status: 'final',
    type: { coding: [{ system: LOINC, code: IPS.composition.code, display: IPS.composition.display }] },
    subject: ref('Patient', patient.id),
    date: when,
    author: [ref('Device', device.id ?? '')],
    title: 'International Patient Summary',
    confidentiality: 'N',
    section: [section('medications', meds), section('allergies', allergies), section('problems', problems)],
  }
  const included = [patient, ...meds, ...allergies, ...problems]
  const wanted = new Set<string>()
  for (const r of included)
    for (const m of JSON.stringify(r).matchAll(/"reference":"(Practitioner|Device|Encounter)\/([^"]+)"/g))
      wanted.add(`${m[1]}/${m[2]}`)
  const agents = resources.filter(
    (r) =>
      (r.resourceType === 'Practitioner' || r.resourceType === 'Encounter' || r.resourceType === 'Device') &&
      wanted.has(`${r.resourceType}/${r.id}`) &&
      r.id !== device.id,
  )
  const all: Resource[] = [composition, ...included, ...agents, device]
  return {
    resourceType: 'Bundle',
    id: randomUUID(),
    identifier: { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${randomUUID()}` },
    type: 'document',
    timestamp: when,
    entry: all.map((r) => ({ fullUrl: fullUrl(options.base, r), resource: r })),
  }
}
