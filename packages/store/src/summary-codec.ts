import { SummaryCodecError } from './errors.js'
import { packedOf } from './packed-value.js'

/** The searchable part of a chart (@clinic-mesh/contracts), packed as one string per patient in an index shard. */
export type { PatientSummary } from '@clinic-mesh/contracts'
import type { PatientSummary } from '@clinic-mesh/contracts'

const VERSION = 's1'
const FIELD = '\t'
const LIST = '\u001f'

function clean(value: string): string {
  // Tabs and unit separators are field delimiters; a name never needs them.
  // eslint-disable-next-line no-control-regex -- the unit separator is our list delimiter
  return value.replace(/[\t\u001f\n\r]/g, ' ')
}

/**
 * Packs a summary into one string: `s1 \t given \t family \t birthDate \t sex \t ids(␟-joined) \t updatedAt`.
 * One value per patient is the lever: Automerge pays per value written, and a shard of packed strings loads and
 * syncs an order of magnitude faster than the same summaries as nested maps. The id is the map key, not repeated.
 */
export function encodeSummary(s: PatientSummary): string {
  return [
    VERSION,
    clean(s.given),
    clean(s.family),
    clean(s.birthDate),
    clean(s.sex),
    s.identifiers.map(clean).join(LIST),
    clean(s.updatedAt),
  ].join(FIELD)
}

/** A packed summary, as text or as a scalar (see packed-value). */
export function decodeSummary(id: string, value: unknown): PatientSummary {
  const packed = packedOf(value)
  if (packed === undefined) throw new SummaryCodecError(`summary of ${id} is not a string`)
  const f = packed.split(FIELD)
  if (f[0] !== VERSION || f.length !== 7) {
    throw new SummaryCodecError(`summary of ${id} has unknown format ${JSON.stringify(f[0])}`)
  }
  return {
    id,
    given: f[1] ?? '',
    family: f[2] ?? '',
    birthDate: f[3] ?? '',
    sex: f[4] ?? '',
    identifiers: f[5] ? f[5].split(LIST) : [],
    updatedAt: f[6] ?? '',
  }
}
