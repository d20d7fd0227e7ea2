import type { ChartDispense } from './chart.js'
import { chartResources } from './chart.js'
import type { PlainChart, PlainLink } from './plain.js'
import { plain } from '@clinic-mesh/records'

/** A chart bucket as stored (records ChartCollection, Automerge values): read with records `plain`, chart by chart. */
export interface BulkBucket {
  readonly charts?: Readonly<Record<string, unknown>>
  readonly links?: Readonly<Record<string, unknown>>
}

export interface BulkOptions {
  /** Every dispense operation of the clinic, by patient id. */
  readonly dispenses?: ReadonlyMap<string, readonly ChartDispense[]>
  /** Flush a chunk once it holds this many characters (default 64 KiB). */
  readonly chunkChars?: number
}

/**
 * One resource type of a whole clinic as NDJSON (FHIR Bulk Data), in chunks: bucket by bucket, chart by chart, one
 * line per resource; Practitioners and Devices (shared by charts) once each. Memory stays bounded by one chart's
 * resources and one chunk; the caller writes each chunk (with backpressure) before asking for the next.
 */
export async function* bulkNdjson(
  buckets: AsyncIterable<BulkBucket | undefined> | Iterable<BulkBucket | undefined>,
  type: string,
  options: BulkOptions = {},
): AsyncGenerator<string, number> {
  const types = new Set([type])
  const limit = options.chunkChars ?? 64 * 1024
  const shared = new Set<string>()
  let count = 0
  let chunk = ''
  for await (const doc of buckets) {
    if (!doc?.charts) continue
    const links = Object.values((plain(doc.links ?? {}) ?? {}) as Record<string, PlainLink>)
    for (const [pid, chart] of Object.entries(doc.charts)) {
      const dispenses = options.dispenses?.get(pid) ?? []
      for (const r of chartResources(plain(chart) as PlainChart, { links, dispenses, types })) {
        if (r.resourceType === 'Practitioner' || r.resourceType === 'Device') {
          if (shared.has(r.id ?? '')) continue
          shared.add(r.id ?? '')
        }
        chunk += JSON.stringify(r) + '\n'
        count++
      }
      if (chunk.length >= limit) {
        yield chunk
        chunk = ''
      }
    }
  }
  if (chunk) yield chunk
  return count
}
