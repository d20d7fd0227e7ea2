import type { PatientId } from '@clinic-mesh/contracts'
import { UnknownRecordError, UnsupportedSchemaError } from './errors.js'
import type { Chart, ChartCollection } from './types.js'

/**
 * Version of the ChartCollection layout written by this code.
 * - v1: patients had no `updatedAt`.
 * - v2: `patient.updatedAt` (last change to the searchable fields) on every patient.
 * - v3: actors written packed, one scalar `user device` (`PackedActor`) instead of a `{user, device}` map; entries of
 *   earlier versions keep their maps, and every reader takes both (`actorOf`).
 */
export const SCHEMA_VERSION = 3

/** Initial value of a chart bucket document (`A.from(emptyCollection())`). */
export function emptyCollection(): ChartCollection {
  return { schema: SCHEMA_VERSION, charts: {}, links: {} }
}

type Migration = (draft: ChartCollection) => void

/**
 * Step `n` upgrades a collection from version n+1 to n+2. Each step must be safe to run on two replicas
 * concurrently: write scalars (equal values from two replicas merge harmlessly), never create a container
 * (map/list/text) at an existing key, because concurrently created containers conflict and one replica's
 * later writes into the losing container are hidden.
 */
const MIGRATIONS: Migration[] = [
  // v1 → v2: default patient.updatedAt to createdAt.
  (draft) => {
    for (const chart of Object.values(draft.charts)) {
      const p = chart.patient as Partial<Chart['patient']>
      if (p.updatedAt === undefined && p.createdAt !== undefined) p.updatedAt = p.createdAt
    }
  },
  // v2 → v3: nothing to rewrite (actors already recorded stay maps; readers take both forms). Code of v2 refuses
  // a v3 collection (UnsupportedSchemaError) instead of misreading its packed actors.
  () => undefined,
]

/**
 * Upgrades a collection in place, inside `A.change`. Returns the versions it went from/to.
 * Throws `UnsupportedSchemaError` for a collection written by newer code (do not touch it).
 */
export function migrateCollection(draft: ChartCollection): { from: number; to: number } {
  const from = typeof draft.schema === 'number' ? draft.schema : 1
  if (from > SCHEMA_VERSION) {
    throw new UnsupportedSchemaError(`collection schema ${from} is newer than this code (${SCHEMA_VERSION})`)
  }
  for (let v = from; v < SCHEMA_VERSION; v++) {
    const step = MIGRATIONS[v - 1]
    if (!step) throw new UnsupportedSchemaError(`no migration from schema ${v}`)
    step(draft)
  }
  if (draft.schema !== SCHEMA_VERSION) draft.schema = SCHEMA_VERSION
  return { from, to: SCHEMA_VERSION }
}

/** True when `migrateCollection` has work to do (cheap check before opening a change). */
export function needsMigration(doc: Pick<ChartCollection, 'schema'>): boolean {
  return (typeof doc.schema === 'number' ? doc.schema : 1) < SCHEMA_VERSION
}

/** The chart of a patient, or `UnknownRecordError`. */
export function chartOf(collection: ChartCollection, patientId: PatientId | string): Chart {
  const chart = collection.charts[patientId]
  if (!chart) throw new UnknownRecordError(`no chart for patient ${patientId}`)
  return chart
}
