import { InvalidRecordError } from './errors.js'

/** Longest clinician note `editNotes` accepts. */
export const MAX_NOTES = 100_000

export function checkNotes(text: unknown): string {
  if (typeof text !== 'string') throw new InvalidRecordError('notes must be a string')
  if (text.length > MAX_NOTES) throw new InvalidRecordError(`notes are longer than ${MAX_NOTES} characters`)
  return text
}
