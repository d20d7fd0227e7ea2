import * as v from 'valibot'

/**
 * Clinical input rules the records package applies to every write, from the device node or a browser: trimmed
 * required text, a plausible birth date, vital signs in plausible ranges. Schemas here; the records package throws
 * its `InvalidRecordError` with the issues in words.
 */

/** Required text: trimmed, not empty, at most `max` characters. */
export const RecordText = /* @__NO_SIDE_EFFECTS__ */ (max = 500) =>
  v.pipe(
    v.string('is required'),
    v.trim(),
    v.minLength(1, 'is required'),
    v.maxLength(max, `is longer than ${max} characters`),
  )

/**
 * `YYYY-MM-DD`, a real calendar date, not in the future, not before 1880. Stops at the first broken rule: an empty
 * field is "required", not also "not a calendar date".
 */
export const BirthDate = /* @__NO_SIDE_EFFECTS__ */ (today: Date = new Date()) =>
  v.config(
    v.pipe(
      v.string('is required'),
      v.nonEmpty('is required'),
      v.regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD'),
      v.check((s) => {
        const d = new Date(`${s}T00:00:00Z`)
        return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s
      }, 'is not a calendar date'),
      v.check((s) => Number(s.slice(0, 4)) >= 1880, 'is implausibly early'),
      v.check((s) => Date.parse(`${s}T00:00:00Z`) <= today.getTime(), 'is in the future'),
    ),
    { abortPipeEarly: true },
  )

/** Sex as registered (FHIR administrative gender). */
export const SEXES = ['female', 'male', 'other', 'unknown'] as const

const namePart = v.optional(
  v.pipe(v.string('must be text'), v.trim(), v.maxLength(200, 'is longer than 200 characters')),
  '',
)

/**
 * A new patient's demographics, every rule at once (a registration form shows each broken one beside its field):
 * a given or a family name, a plausible birth date, the sex chosen.
 */
export const NewPatientSchema = /* @__NO_SIDE_EFFECTS__ */ (today: Date = new Date()) =>
  v.pipe(
    v.object({
      given: namePart,
      family: namePart,
      birthDate: BirthDate(today),
      sex: v.picklist(SEXES, 'is required'),
    }),
    v.forward(
      v.partialCheck(
        [['given'], ['family']],
        (p) => p.given !== '' || p.family !== '',
        'or a family name is required',
      ),
      ['given'],
    ),
  )

/** Plausible ranges (inclusive) of each vital sign: outside them the value is almost surely a typo or a unit mix-up. */
export const VITAL_RANGES = {
  temperatureC: [25, 45],
  pulseBpm: [20, 250],
  respRate: [4, 80],
  systolic: [40, 300],
  diastolic: [20, 200],
  spo2: [50, 100],
  weightKg: [0.3, 400],
  heightCm: [20, 250],
  glucoseMmolL: [1, 50],
} as const satisfies Record<string, readonly [number, number]>

const vital = /* @__NO_SIDE_EFFECTS__ */ ([min, max]: readonly [number, number]) =>
  v.optional(
    v.pipe(
      v.number('must be a number'),
      v.finite('must be a number'),
      v.minValue(min, `is outside the plausible range ${min}–${max}`),
      v.maxValue(max, `is outside the plausible range ${min}–${max}`),
    ),
  )

/** One set of vital signs: at least one value, each in its range; blood pressure as both numbers, diastolic below systolic. */
export const VitalsSchema = v.pipe(
  v.strictObject(
    {
      temperatureC: vital(VITAL_RANGES.temperatureC),
      pulseBpm: vital(VITAL_RANGES.pulseBpm),
      respRate: vital(VITAL_RANGES.respRate),
      systolic: vital(VITAL_RANGES.systolic),
      diastolic: vital(VITAL_RANGES.diastolic),
      spo2: vital(VITAL_RANGES.spo2),
      weightKg: vital(VITAL_RANGES.weightKg),
      heightCm: vital(VITAL_RANGES.heightCm),
      glucoseMmolL: vital(VITAL_RANGES.glucoseMmolL),
    },
    'must be an object of vital signs',
  ),
  v.check((x) => Object.values(x).some((n) => n !== undefined), 'must contain at least one value'),
  v.check(
    (x) => (x.systolic === undefined) === (x.diastolic === undefined),
    'blood pressure needs both systolic and diastolic',
  ),
  v.check(
    (x) => x.systolic === undefined || x.diastolic === undefined || x.diastolic < x.systolic,
    'diastolic must be below systolic',
  ),
)
export type Vitals = v.InferOutput<typeof VitalsSchema>
