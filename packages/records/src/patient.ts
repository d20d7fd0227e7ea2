import { newId, type PatientId } from '@clinic-mesh/contracts'
import { DuplicateRecordError, InvalidRecordError, UnknownRecordError } from './errors.js'
import type {
  Actor,
  Allergy,
  Chart,
  ChartCollection,
  Identifier,
  Problem,
  ProblemStatus,
  Severity,
  Sex,
} from './types.js'
import { PROBLEM_STATUSES, SEVERITIES, SEXES } from './types.js'
import { requireBirthDate, requireEnum, requireNewPatient, requireText, optionalText } from './validate.js'
import { imm, stamp, str } from './values.js'

export interface IdentifierInput {
  system: string
  value: string
}

export interface RegisterPatientInput {
  /** Chosen by the caller (e.g. the store, to pick a bucket) or generated. */
  id?: PatientId
  given: string
  family: string
  birthDate: string
  sex: Sex
  identifiers?: IdentifierInput[]
}

export function identifierKey(system: string, value: string): string {
  return `${system}|${value}`
}

function toIdentifier(input: IdentifierInput): [string, Identifier] {
  const system = requireText(input?.system, 'identifier.system', 100)
  const value = requireText(input?.value, 'identifier.value', 100)
  if (system.includes('|')) throw new InvalidRecordError('identifier.system must not contain "|"')
  return [identifierKey(system, value), { system: imm(system), value: imm(value) }]
}

function nameParts(given: unknown, family: unknown): { given: string; family: string } {
  const g = typeof given === 'string' ? given.trim() : ''
  const f = typeof family === 'string' ? family.trim() : ''
  if (!g && !f) throw new InvalidRecordError('a patient needs a given or a family name')
  if (g.length > 200 || f.length > 200) throw new InvalidRecordError('name is longer than 200 characters')
  return { given: g, family: f }
}

/**
 * Adds a new chart to the collection (inside `A.change`). Creates only the maps that other devices may add to
 * concurrently (identifiers, allergies, problems, encounters, prescriptions, mar): creating them later, on two
 * devices at once, would hide one device's entries.
 */
export function registerPatient(d: ChartCollection, input: RegisterPatientInput, actor: Actor): PatientId {
  const { id, chart } = newChart(input, actor)
  if (d.charts[id]) throw new DuplicateRecordError(`patient ${id} is already registered`)
  d.charts[id] = chart
  return id
}

/** The value `registerPatient` writes, validated, as a plain object (not yet in any document). */
export function newChart(input: RegisterPatientInput, actor: Actor): { id: PatientId; chart: Chart } {
  const { given, family, birthDate, sex } = requireNewPatient(input)
  const name = { given, family }
  const identifiers: { [key: string]: Identifier } = {}
  for (const i of input.identifiers ?? []) {
    const [key, value] = toIdentifier(i)
    identifiers[key] = value
  }
  const { by, at } = stamp(actor)
  const id = input.id ?? newId<PatientId>('pt')
  const chart: Chart = {
    patient: {
      id: imm(id),
      name: { given: imm(name.given), family: imm(name.family) },
      birthDate: imm(birthDate),
      sex: imm(sex),
      identifiers,
      allergies: {},
      problems: {},
      createdAt: at,
      createdBy: by,
      updatedAt: at,
    },
    encounters: {},
    prescriptions: {},
    mar: {},
  }
  return { id, chart }
}

export interface DemographicsPatch {
  given?: string
  family?: string
  birthDate?: string
  sex?: Sex
}

/** Changes only the given fields (each one is its own merge unit). */
export function updateDemographics(chart: Chart, patch: DemographicsPatch, actor: Actor): void {
  const p = chart.patient
  const given = patch.given ?? str(p.name.given)
  const family = patch.family ?? str(p.name.family)
  const name = nameParts(given, family)
  const birthDate = patch.birthDate === undefined ? undefined : requireBirthDate(patch.birthDate)
  const sex = patch.sex === undefined ? undefined : requireEnum(patch.sex, SEXES, 'sex')
  const { at } = stamp(actor)
  if (patch.given !== undefined) p.name.given = imm(name.given)
  if (patch.family !== undefined) p.name.family = imm(name.family)
  if (birthDate !== undefined) p.birthDate = imm(birthDate)
  if (sex !== undefined) p.sex = imm(sex)
  p.updatedAt = at
}

export function addIdentifier(chart: Chart, input: IdentifierInput, actor: Actor): string {
  const [key, value] = toIdentifier(input)
  const { at } = stamp(actor)
  if (!chart.patient.identifiers[key]) chart.patient.identifiers[key] = value
  chart.patient.updatedAt = at
  return key
}

export interface AllergyInput {
  substance: string
  severity: Severity
  reaction?: string
}

/** Adds an allergy under a fresh random id (add-wins: concurrent additions all survive). */
export function recordAllergy(chart: Chart, input: AllergyInput, actor: Actor): string {
  const substance = requireText(input?.substance, 'allergy.substance', 200)
  const severity = requireEnum(input.severity, SEVERITIES, 'allergy.severity')
  const reaction = optionalText(input.reaction, 'allergy.reaction')
  const { by, at } = stamp(actor)
  const id = newId('alg')
  const allergy: Allergy = {
    substance: imm(substance),
    severity: imm(severity),
    recordedBy: by,
    recordedAt: at,
  }
  if (reaction !== undefined) allergy.reaction = imm(reaction)
  chart.patient.allergies[id] = allergy
  return id
}

export function setAllergySeverity(chart: Chart, allergyId: string, severity: Severity, actor: Actor): void {
  const allergy = chart.patient.allergies[allergyId]
  if (!allergy) throw new UnknownRecordError(`no allergy ${allergyId}`)
  const value = requireEnum(severity, SEVERITIES, 'allergy.severity')
  const { by, at } = stamp(actor)
  allergy.severity = imm(value)
  allergy.updatedBy = by
  allergy.updatedAt = at
}

export interface ProblemInput {
  text: string
  code?: string
  status?: ProblemStatus
  onset?: string
}

export function addProblem(chart: Chart, input: ProblemInput, actor: Actor): string {
  const text = requireText(input?.text, 'problem.text')
  const code = optionalText(input.code, 'problem.code', 50)
  const status = requireEnum(input.status ?? 'active', PROBLEM_STATUSES, 'problem.status')
  const onset = input.onset === undefined ? undefined : requireBirthDate(input.onset)
  const { by, at } = stamp(actor)
  const id = newId('prb')
  const problem: Problem = { text: imm(text), status: imm(status), recordedBy: by, recordedAt: at }
  if (code !== undefined) problem.code = imm(code)
  if (onset !== undefined) problem.onset = imm(onset)
  chart.patient.problems[id] = problem
  return id
}

export function setProblemStatus(chart: Chart, problemId: string, status: ProblemStatus, actor: Actor): void {
  const problem = chart.patient.problems[problemId]
  if (!problem) throw new UnknownRecordError(`no problem ${problemId}`)
  const value = requireEnum(status, PROBLEM_STATUSES, 'problem.status')
  const { by, at } = stamp(actor)
  problem.status = imm(value)
  problem.updatedBy = by
  problem.updatedAt = at
}
