import * as v from 'valibot'

/**
 * Field schemas every contract is built from, each with its message in plain words (what the person or the
 * program sending the value has to change). A branded id is a string at run time; `id<T>()` types it as `T`.
 */

/** A non-empty string of at most `max` characters. */
export const nonEmpty = /* @__NO_SIDE_EFFECTS__ */ (max = 256) =>
  v.pipe(
    v.string('must be text'),
    v.minLength(1, 'must not be empty'),
    v.maxLength(max, `must be at most ${max} characters`),
  )

/** Any string (possibly empty) of at most `max` characters. */
export const text = /* @__NO_SIDE_EFFECTS__ */ (max = 2000) =>
  v.pipe(v.string('must be text'), v.maxLength(max, `must be at most ${max} characters`))

/** A branded id: a non-empty string of at most `max` characters, typed as `T`. */
export const id = /* @__NO_SIDE_EFFECTS__ */ <T extends string>(max = 256) =>
  nonEmpty(max) as unknown as v.GenericSchema<string, T>

/** A whole number ≥ `min` (safe integer). */
export const int = /* @__NO_SIDE_EFFECTS__ */ (min = 0) =>
  v.pipe(
    v.number('must be a number'),
    v.safeInteger('must be a whole number'),
    v.minValue(min, min === Number.MIN_SAFE_INTEGER ? 'must be a whole number' : `must be ${min} or more`),
  )

/** A whole number other than 0. */
export const nonZeroInt = /* @__NO_SIDE_EFFECTS__ */ () =>
  v.pipe(
    v.number('must be a number'),
    v.safeInteger('must be a whole number'),
    v.notValue(0, 'must not be 0'),
  )

/** Any safe integer, negative included. */
export const anyInt = /* @__NO_SIDE_EFFECTS__ */ () => int(Number.MIN_SAFE_INTEGER)

/** 64 lowercase hex characters (a sha-256 hash, an Ed25519 public key). */
export const hex64 = /* @__NO_SIDE_EFFECTS__ */ (what = 'a hash') =>
  v.pipe(v.string('must be text'), v.regex(/^[0-9a-f]{64}$/, `must be ${what} (64 lowercase hex characters)`))

/** A calendar date `YYYY-MM-DD`. */
export const isoDate = /* @__NO_SIDE_EFFECTS__ */ () =>
  v.pipe(
    v.string('must be a date YYYY-MM-DD'),
    v.regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD'),
    v.check((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)), 'must be a real calendar date'),
  )

/** One of the listed strings. */
export const oneOf = /* @__NO_SIDE_EFFECTS__ */ <const T extends readonly [string, ...string[]]>(values: T) =>
  v.picklist(values, `must be one of ${values.join(', ')}`)

/** A boolean. */
export const bool = /* @__NO_SIDE_EFFECTS__ */ () => v.boolean('must be true or false')
