import type {
  AllergyIntolerance,
  Bundle,
  CodeableConcept,
  Condition,
  Patient,
  Reference,
} from '@medplum/fhirtypes'
import type {
  AllergyInput,
  IdentifierInput,
  ProblemInput,
  ProblemStatus,
  RegisterPatientInput,
  Severity,
} from '@clinic-mesh/records'
import { FhirInputError } from './errors.js'
import { fhirId } from './ids.js'
import { identifierSystemFromFhir } from './patient.js'
import { ID_SYSTEM, ICD10 } from './systems.js'

/** One entry of an import Bundle we could not take, with the reason (answered as an OperationOutcome). */
export interface RejectedEntry {
  readonly index: number
  readonly reason: string
}

export interface ImportItem<T> {
  readonly index: number
  readonly input: T
}

/** A Patient of the Bundle, read into what records' registration takes, with the allergies and conditions about it. */
export interface ImportPatient {
  readonly index: number
  /** Our patient id when the Patient came from a clinic-mesh export (its `urn:clinic-mesh:patient` identifier). */
  readonly ourId?: string
  readonly register: Omit<RegisterPatientInput, 'id'>
  /** `system|value` of every identifier: the keys an import is idempotent by. */
  readonly keys: readonly string[]
  readonly allergies: ImportItem<AllergyInput>[]
  readonly problems: ImportItem<ProblemInput>[]
}

export interface ImportPlan {
  readonly type: 'batch' | 'transaction' | 'collection'
  readonly patients: ImportPatient[]
  readonly rejected: RejectedEntry[]
}

const OUR_PATIENT_ID = /^pt_[0-9a-f]{32}$/
const SEXES: readonly string[] = ['female', 'male', 'other', 'unknown']

function text(c: CodeableConcept | undefined): string | undefined {
  return (
    c?.text?.trim() ||
    c?.coding?.find((x) => x.display)?.display?.trim() ||
    c?.coding?.find((x) => x.code)?.code?.trim() ||
    undefined
  )
}

function readPatient(index: number, p: Patient): ImportPatient | string {
  const name =
    p.name?.find((n) => n.use === 'official') ?? p.name?.find((n) => n.use !== 'old') ?? p.name?.[0]
  const given = (name?.given ?? []).join(' ').trim()
  const family = (name?.family ?? '').trim()
  if (!given && !family) return 'Patient.name: a patient needs a given or a family name'
  if (!p.birthDate) return 'Patient.birthDate is required (YYYY-MM-DD)'
  if (!p.gender || !SEXES.includes(p.gender))
    return 'Patient.gender is required (female, male, other or unknown)'
  let ourId: string | undefined
  const identifiers: IdentifierInput[] = []
  for (const i of p.identifier ?? []) {
    if (!i.value) continue
    if (i.system === ID_SYSTEM.patient) {
      if (OUR_PATIENT_ID.test(i.value)) ourId = i.value
      continue
    }
    identifiers.push({ system: identifierSystemFromFhir(i.system ?? 'unspecified'), value: i.value })
  }
  const keys = identifiers.map((i) => `${i.system}|${i.value}`)
  if (!ourId && keys.length === 0)
    return 'Patient.identifier: an imported patient needs an identifier (the import is idempotent by identifier)'
  return {
    index,
    ...(ourId ? { ourId } : {}),
    register: { given, family, birthDate: p.birthDate, sex: p.gender, identifiers },
    keys: ourId ? [`${ID_SYSTEM.patient}|${ourId}`, ...keys] : keys,
    allergies: [],
    problems: [],
  }
}

function severityOf(a: AllergyIntolerance): Severity {
  const s = a.reaction?.find((r) => r.severity)?.severity
  if (s) return s
  return a.criticality === 'high' ? 'severe' : a.criticality === 'low' ? 'mild' : 'moderate'
}

function readAllergy(a: AllergyIntolerance): AllergyInput | string {
  const substance = text(a.code) ?? text(a.reaction?.[0]?.substance)
  if (!substance) return 'AllergyIntolerance.code: no substance (text, display or code)'
  const status = a.verificationStatus?.coding?.[0]?.code
  if (status === 'entered-in-error' || status === 'refuted')
    return `AllergyIntolerance.verificationStatus is ${status}: not recorded`
  const reaction =
    a.reaction
      ?.flatMap((r) => r.manifestation.map((m) => text(m)).filter((x): x is string => !!x))
      .join(', ') || a.reaction?.[0]?.description
  return { substance, severity: severityOf(a), ...(reaction ? { reaction } : {}) }
}

const PROBLEM_STATUS: Record<string, ProblemStatus> = {
  active: 'active',
  recurrence: 'active',
  relapse: 'active',
  inactive: 'inactive',
  remission: 'inactive',
  resolved: 'resolved',
}

function readCondition(c: Condition): ProblemInput | string {
  const label = text(c.code)
  if (!label) return 'Condition.code: no text, display or code'
  const verification = c.verificationStatus?.coding?.[0]?.code
  if (verification === 'entered-in-error' || verification === 'refuted')
    return `Condition.verificationStatus is ${verification}: not recorded`
  const clinical = c.clinicalStatus?.coding?.[0]?.code
  const icd = c.code?.coding?.find((x) => x.system === ICD10 && x.code)?.code
  const onset =
    c.onsetDateTime && /^\d{4}-\d{2}-\d{2}/.test(c.onsetDateTime) ? c.onsetDateTime.slice(0, 10) : undefined
  return {
    text: label,
    status: PROBLEM_STATUS[clinical ?? 'active'] ?? 'active',
    ...(icd ? { code: icd } : {}),
    ...(onset ? { onset } : {}),
  }
}

/** The keys a reference to a Patient of this Bundle may use: its fullUrl, `Patient/<id>` and any absolute form of that. */
function patientKeys(fullUrl: string | undefined, id: string | undefined): string[] {
  const out: string[] = []
  if (fullUrl) out.push(fullUrl)
  if (id) out.push(`Patient/${id}`)
  return out
}

function resolve(
  reference: Reference | undefined,
  byKey: Map<string, ImportPatient | number>,
): ImportPatient | number | undefined {
  const r = reference?.reference
  if (!r) return undefined
  const direct = byKey.get(r)
  if (direct !== undefined) return direct
  const m = /(?:^|\/)(Patient\/[^/]+)$/.exec(r)
  return m?.[1] ? byKey.get(m[1]) : undefined
}

/**
 * Reads an import Bundle (collection, batch or transaction) of Patients with their AllergyIntolerances and
 * Conditions into what records' registration helpers take. A Patient needs an identifier (the import is idempotent
 * by identifier; a registry's patients have one). Pure: no clinic is consulted (duplicates and idempotency
 * are the caller's). Every entry is either in a patient of the plan or rejected with its reason — nothing is dropped
 * silently: other resource types, unreadable Patients, allergies and conditions whose patient is not a Patient of
 * this Bundle or was itself rejected. Conditions are imported into the problem list (there is no encounter to hang a
 * diagnosis on).
 */
export function readImportBundle(bundle: unknown): ImportPlan {
  const b = bundle as Bundle
  if (!b || typeof b !== 'object' || b.resourceType !== 'Bundle')
    throw new FhirInputError('the body must be a FHIR Bundle')
  if (b.type !== 'collection' && b.type !== 'batch' && b.type !== 'transaction')
    throw new FhirInputError(`Bundle.type must be collection, batch or transaction, not ${String(b.type)}`)
  const entries = Array.isArray(b.entry) ? b.entry : []
  const rejected: RejectedEntry[] = []
  const patients: ImportPatient[] = []
  const byKey = new Map<string, ImportPatient | number>()
  entries.forEach((e, index) => {
    const r = e?.resource
    if (r?.resourceType !== 'Patient') return
    const p = readPatient(index, r)
    const value = typeof p === 'string' ? index : p
    if (typeof p === 'string') rejected.push({ index, reason: p })
    else patients.push(p)
    for (const k of patientKeys(e.fullUrl, r.id)) byKey.set(k, value)
    if (r.id) byKey.set(`Patient/${fhirId(r.id)}`, value)
  })
  entries.forEach((e, index) => {
    const r = e?.resource
    if (!r || typeof r !== 'object' || typeof r.resourceType !== 'string')
      return rejected.push({ index, reason: 'the entry has no resource' })
    if (r.resourceType === 'Patient') return
    if (r.resourceType !== 'AllergyIntolerance' && r.resourceType !== 'Condition') {
      return rejected.push({
        index,
        reason: `${r.resourceType} is not imported (only Patient, AllergyIntolerance and Condition)`,
      })
    }
    const target = resolve(r.resourceType === 'AllergyIntolerance' ? r.patient : r.subject, byKey)
    if (target === undefined)
      return rejected.push({
        index,
        reason: `${r.resourceType}: its patient is not a Patient of this Bundle`,
      })
    if (typeof target === 'number')
      return rejected.push({ index, reason: `${r.resourceType}: its patient (entry ${target}) was rejected` })
    if (r.resourceType === 'AllergyIntolerance') {
      const a = readAllergy(r)
      if (typeof a === 'string') return rejected.push({ index, reason: a })
      target.allergies.push({ index, input: a })
    } else {
      const c = readCondition(r)
      if (typeof c === 'string') return rejected.push({ index, reason: c })
      target.problems.push({ index, input: c })
    }
    return undefined
  })
  rejected.sort((x, y) => x.index - y.index)
  return { type: b.type, patients, rejected }
}
