import type { SEXES } from '@clinic-mesh/contracts'
import {
  BirthDate,
  InvalidInputError,
  NewPatientSchema,
  RecordText,
  VITAL_RANGES,
  VitalsSchema,
  parseWith,
  type Schema,
  type Output,
} from '@clinic-mesh/contracts'
import { InvalidRecordError } from './errors.js'
import type { VitalsValues } from './types.js'

/** The rules are the contract's (@clinic-mesh/contracts records/inputs.ts); a value that breaks one is an InvalidRecordError naming every issue. */
export function parse<S extends Schema>(schema: S, value: unknown, field: string): Output<S> {
  try {
    return parseWith(schema, value, field)
  } catch (err) {
    if (!(err instanceof InvalidInputError)) throw err
    const issues = err.issues.map((i) => ({
      path: i.path === '' ? field : `${field}.${i.path}`,
      message: i.message,
    }))
    const words = issues.map((i) => `${i.path} ${i.message}`).join('; ')
    throw new InvalidRecordError(words || err.message, issues)
  }
}

export { VITAL_RANGES }

export function requireText(value: unknown, field: string, max = 500): string {
  return parse(RecordText(max), value, field)
}

export function optionalText(value: unknown, field: string, max = 2000): string | undefined {
  if (value === undefined || value === null || value === '') return undefined
  return requireText(value, field, max)
}

export function requireEnum<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidRecordError(
      `${field} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`,
    )
  }
  return value as T
}

/** `YYYY-MM-DD`, a real calendar date, not in the future, not before 1880. */
export function requireBirthDate(value: unknown, today = new Date()): string {
  return parse(BirthDate(today), value, 'birthDate')
}

/** A new patient's name, birth date and sex, every broken rule reported at once (`patient.sex is required; ...`). */
export function requireNewPatient(
  input: unknown,
  today = new Date(),
): { given: string; family: string; birthDate: string; sex: (typeof SEXES)[number] } {
  return parse(NewPatientSchema(today), input, 'patient')
}

export function requireVitals(values: VitalsValues): VitalsValues {
  const parsed = parse(VitalsSchema, values, 'vitals')
  // Automerge stores no undefined: only the signs given
  const out: VitalsValues = {}
  for (const [k, n] of Object.entries(parsed) as [keyof VitalsValues, number | undefined][])
    if (n !== undefined) out[k] = n
  return out
}
