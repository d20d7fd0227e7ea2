import { InvalidRecordError } from './errors.js'
import type { VitalsValues } from './types.js'

export function requireText(value: unknown, field: string, max = 500): string {
  if (typeof value !== 'string' || value.trim() === '') throw new InvalidRecordError(`${field} is required`)
  const v = value.trim()
  if (v.length > max) throw new InvalidRecordError(`${field} is longer than ${max} characters`)
  return v
}

export function optionalText(value: unknown, field: string, max = 2000): string | undefined {
  if (value === undefined || value === null || value === '') return undefined
  return requireText(value, field, max)
}

export function requireEnum<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidRecordError(`${field} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`)
  }
  return value as T
}

/** `YYYY-MM-DD`, a real calendar date, not in the future, not before 1880. */
export function requireBirthDate(value: unknown, today = new Date()): string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    throw new InvalidRecordError(`birthDate must be YYYY-MM-DD, got ${JSON.stringify(value)}`)
  }
  const d = new Date(`${value}T00:00:00Z`)
  if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== value) {
    throw new InvalidRecordError(`birthDate ${value} is not a calendar date`)
  }
  if (d.getUTCFullYear() < 1880) throw new InvalidRecordError(`birthDate ${value} is implausibly early`)
  if (d.getTime() > today.getTime()) throw new InvalidRecordError(`birthDate ${value} is in the future`)
  return value
}

/** Plausible ranges (inclusive) of each vital sign: outside them the value is almost surely a typo or a unit mix-up. */
export const VITAL_RANGES: { readonly [K in keyof Required<VitalsValues>]: readonly [number, number] } = {
  temperatureC: [25, 45],
  pulseBpm: [20, 250],
  respRate: [4, 80],
  systolic: [40, 300],
  diastolic: [20, 200],
  spo2: [50, 100],
  weightKg: [0.3, 400],
  heightCm: [20, 250],
  glucoseMmolL: [1, 50],
}

export function requireVitals(values: VitalsValues): VitalsValues {
  if (!values || typeof values !== 'object') throw new InvalidRecordError('vitals must be an object')
  const out: VitalsValues = {}
  let n = 0
  for (const [key, value] of Object.entries(values) as [keyof VitalsValues, unknown][]) {
    if (value === undefined) continue
    const range = VITAL_RANGES[key]
    if (!range) throw new InvalidRecordError(`unknown vital sign ${JSON.stringify(key)}`)
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new InvalidRecordError(`${key} must be a number`)
    if (value < range[0] || value > range[1]) {
      throw new InvalidRecordError(`${key} ${value} is outside the plausible range ${range[0]}–${range[1]}`)
    }
    out[key] = value
    n++
  }
  if (n === 0) throw new InvalidRecordError('vitals must contain at least one value')
  if (out.systolic !== undefined && out.diastolic !== undefined && out.diastolic >= out.systolic) {
    throw new InvalidRecordError(`diastolic ${out.diastolic} must be below systolic ${out.systolic}`)
  }
  if ((out.systolic === undefined) !== (out.diastolic === undefined)) {
    throw new InvalidRecordError('blood pressure needs both systolic and diastolic')
  }
  return out
}
