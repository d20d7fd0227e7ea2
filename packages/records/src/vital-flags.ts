import type { VitalsValues } from './types.js'

/** A vital sign outside its reference range for the patient's age: shown highlighted, never refused. */
export interface VitalFlag {
  readonly key: keyof VitalsValues
  readonly direction: 'high' | 'low'
  /** The range it left, in words (e.g. "38.0 °C or more is fever"). */
  readonly reason: string
}

interface Band {
  readonly low?: number
  readonly high?: number
  readonly lowReason?: string
  readonly highReason?: string
}

/**
 * Reference bands, deliberately few and conservative: temperature and SpO₂ at every age; adult pulse, breathing and
 * blood pressure from 18 years; breathing in children by WHO IMCI "fast breathing" (≥ 60/min under 2 months,
 * ≥ 50 from 2 to 12 months, ≥ 40 from 1 to 5 years). No band, no flag: a child's pulse or blood pressure is left to
 * the clinician rather than judged against adult numbers.
 */
function bandsFor(ageMonths: number | undefined): Partial<Record<keyof VitalsValues, Band>> {
  const bands: Partial<Record<keyof VitalsValues, Band>> = {
    temperatureC: {
      low: 35.5,
      high: 38,
      lowReason: 'below 35.5 °C is hypothermia',
      highReason: '38.0 °C or more is fever',
    },
    spo2: { low: 94, lowReason: 'SpO₂ below 94% is low' },
  }
  if (ageMonths === undefined) return bands
  if (ageMonths >= 18 * 12) {
    bands.pulseBpm = {
      low: 50,
      high: 101,
      lowReason: 'an adult pulse below 50',
      highReason: 'an adult pulse over 100',
    }
    bands.respRate = {
      low: 12,
      high: 21,
      lowReason: 'adult breathing below 12/min',
      highReason: 'adult breathing over 20/min',
    }
    bands.systolic = {
      low: 90,
      high: 140,
      lowReason: 'systolic below 90 mmHg',
      highReason: 'systolic 140 mmHg or more',
    }
    bands.diastolic = { high: 90, highReason: 'diastolic 90 mmHg or more' }
  } else if (ageMonths < 2)
    bands.respRate = { high: 60, highReason: 'fast breathing: 60/min or more under 2 months' }
  else if (ageMonths < 12)
    bands.respRate = { high: 50, highReason: 'fast breathing: 50/min or more from 2 to 12 months' }
  else if (ageMonths < 60)
    bands.respRate = { high: 40, highReason: 'fast breathing: 40/min or more from 1 to 5 years' }
  return bands
}

/** Whole months from `birthDate` (YYYY-MM-DD) to `on`; undefined for a date it cannot read. */
export function ageInMonths(birthDate: string, on: Date = new Date()): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(birthDate)
  if (!m) return undefined
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
  let months = (on.getUTCFullYear() - y) * 12 + (on.getUTCMonth() + 1 - mo)
  if (on.getUTCDate() < d) months--
  return months >= 0 ? months : undefined
}

/**
 * The vital signs of one set that fall outside the reference band for a patient born on `birthDate` (bands above
 * are "value ≥ high" and "value < low"). An unknown age flags only what holds at every age.
 */
export function flagVitals(
  values: VitalsValues,
  birthDate: string | undefined,
  on: Date = new Date(),
): VitalFlag[] {
  const bands = bandsFor(birthDate === undefined ? undefined : ageInMonths(birthDate, on))
  const flags: VitalFlag[] = []
  for (const [key, band] of Object.entries(bands) as [keyof VitalsValues, Band][]) {
    const v = values[key]
    if (v === undefined) continue
    if (band.high !== undefined && v >= band.high)
      flags.push({ key, direction: 'high', reason: band.highReason ?? '' })
    else if (band.low !== undefined && v < band.low)
      flags.push({ key, direction: 'low', reason: band.lowReason ?? '' })
  }
  return flags
}
