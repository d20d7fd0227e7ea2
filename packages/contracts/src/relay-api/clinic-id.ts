import * as v from 'valibot'

/** A clinic id as the relay accepts it: it names files on the relay, so letters, digits, `-` and `_` only (1-64). */
export const ClinicIdSchema = v.pipe(
  v.string('must be text'),
  v.minLength(1, 'must not be empty'),
  v.maxLength(64, 'must be at most 64 characters'),
  v.regex(/^[A-Za-z0-9_-]+$/, 'may contain only letters, digits, - and _'),
)
