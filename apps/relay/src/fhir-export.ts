import { once } from 'node:events'
import type { ServerResponse } from 'node:http'
import { CHART_RESOURCE_TYPES, chartResources, type ChartDispense, type PlainChart, type PlainLink } from '@clinic-mesh/fhir'
import type { Operation, OperationOf } from '@clinic-mesh/ledger'
import { plain } from '@clinic-mesh/records'
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
    const entry: ChartDispense = { op: d, state: d.seq <= (marks[d.device] ?? 0) ? 'settled' : 'tentative', ...(exp ? { expiry: exp } : {}), ...(name ? { itemName: name } : {}) }
    let list = byPatient.get(d.patient)
    if (!list) byPatient.set(d.patient, (list = []))
    list.push(entry)
  }
  return { byPatient }
}

/**
 * Streams one resource type of a clinic's charts as NDJSON (FHIR Bulk Data): bucket by bucket, chart by chart, one
 * line per resource, honouring backpressure (a slow reader holds the export, memory stays bounded by one bucket).
 * Returns the number of resources written.
 */
export async function streamExport(w: ClinicWatcher, type: ExportType, res: ServerResponse): Promise<number> {
  const src = w.exportSources()
  const index = dispenses(w, src.logs)
  const types = new Set<string>([type])
  res.writeHead(200, { 'content-type': 'application/fhir+ndjson', 'cache-control': 'no-store' })
  let count = 0
  const seen = new Set<string>()
  for (const url of src.buckets) {
    const h = await src.load(url)
    if (!h) continue
    const doc = h.doc() as { charts?: Record<string, unknown>; links?: Record<string, unknown> } | undefined
    const links = Object.values((plain(doc?.links ?? {}) ?? {}) as Record<string, PlainLink>)
    let chunk = ''
    for (const [pid, chart] of Object.entries(doc?.charts ?? {})) {
      const resources = chartResources(plain(chart) as PlainChart, { links, dispenses: index.byPatient.get(pid) ?? [], types })
      for (const r of resources) {
        // Practitioners and Devices are shared by charts: each once per file
        if (r.resourceType === 'Practitioner' || r.resourceType === 'Device') {
          if (seen.has(r.id ?? '')) continue
          seen.add(r.id ?? '')
        }
        chunk += JSON.stringify(r) + '\n'
        count++
      }
      if (chunk.length > 64 * 1024) {
        if (!res.write(chunk)) await once(res, 'drain')
        chunk = ''
      }
    }
    if (chunk && !res.write(chunk)) await once(res, 'drain')
  }
  res.end()
  return count
}
