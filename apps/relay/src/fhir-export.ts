import { once } from 'node:events'
import type { ServerResponse } from 'node:http'
import { bulkNdjson, CHART_RESOURCE_TYPES, type BulkBucket, type ChartDispense } from '@clinic-mesh/fhir'
import type { Operation, OperationOf } from '@clinic-mesh/ledger'
import type { ClinicWatcher } from './clinic-watcher.js'
import { RouteNotFoundError } from './errors.js'

export type ExportType = (typeof CHART_RESOURCE_TYPES)[number]

export function exportType(raw: string): ExportType {
  const t = (CHART_RESOURCE_TYPES as readonly string[]).find((x) => x === raw)
  if (!t) throw new RouteNotFoundError('GET', `/fhir/$export/${raw}.ndjson`)
  return t as ExportType
}

/**
 * The Bulk Data completion manifest of a clinic's export: one NDJSON output per resource type, each produced when
 * it is read (`streamExport`), so the manifest is complete at once (`transactionTime` is now).
 */
export function exportManifest(base: string, clinic: string, request: string): Record<string, unknown> {
  const q = `?clinic=${encodeURIComponent(clinic)}`
  return {
    transactionTime: new Date().toISOString(),
    request,
    requiresAccessToken: true,
    output: CHART_RESOURCE_TYPES.map((type) => ({ type, url: `${base}/fhir/$export/${type}.ndjson${q}` })),
    error: [],
  }
}

interface DispenseIndex {
  readonly byPatient: Map<string, ChartDispense[]>
}

/** The clinic's dispense operations by patient, with settlement state (relay watermarks), item names and lot expiries. */
function dispenses(w: ClinicWatcher, logs: { device: string; ops: unknown[] }[]): DispenseIndex {
  const marks = w.settlement.watermarks()
  const inv = w.settlement.engine.inventory()
  const byPatient = new Map<string, ChartDispense[]>()
  const expiry = new Map<string, string>()
  for (const [batch, b] of Object.entries(inv.batches)) expiry.set(batch, b.expiry)
  const all = logs.flatMap((l) => l.ops as Operation[])
  for (const op of all) if (op.kind === 'receive' && !expiry.has(op.batch)) expiry.set(op.batch, op.expiry)
  for (const op of all) {
    if (op.kind !== 'dispense') continue
    const d = op as OperationOf<'dispense'>
    const exp = d.batch ? expiry.get(d.batch) : undefined
    const name = inv.items[d.item]?.name
    const entry: ChartDispense = {
      op: d,
      state: d.seq <= (marks[d.device] ?? 0) ? 'settled' : 'tentative',
      ...(exp ? { expiry: exp } : {}),
      ...(name ? { itemName: name } : {}),
    }
    let list = byPatient.get(d.patient)
    if (!list) byPatient.set(d.patient, (list = []))
    list.push(entry)
  }
  return { byPatient }
}

/**
 * Streams one resource type of a clinic's charts as NDJSON (FHIR Bulk Data, `@clinic-mesh/fhir` `bulkNdjson`):
 * bucket by bucket, chart by chart, honouring backpressure (a slow reader holds the export, memory stays bounded).
 * Returns the number of resources written.
 */
export async function streamExport(w: ClinicWatcher, type: ExportType, res: ServerResponse): Promise<number> {
  await w.dormant.wakeAll() // past logs a settler left dormant hold dispenses too
  const src = w.exportSources()
  const index = dispenses(w, src.logs)
  async function* buckets(): AsyncGenerator<BulkBucket | undefined> {
    for (const url of src.buckets) yield (await src.load(url))?.doc()
  }
  res.writeHead(200, { 'content-type': 'application/fhir+ndjson', 'cache-control': 'no-store' })
  const out = bulkNdjson(buckets(), type, { dispenses: index.byPatient })
  for (;;) {
    const next = await out.next()
    if (next.done) {
      res.end()
      return next.value
    }
    if (!res.write(next.value)) await once(res, 'drain')
  }
}
