import * as A from '@automerge/automerge'
import type {
  BatchId,
  DeviceId,
  ItemId,
  LocationId,
  OperationId,
  PatientId,
  PrescriptionId,
  UserId,
} from '@clinic-mesh/contracts'
import { bulkNdjson, CHART_RESOURCE_TYPES, type ChartDispense } from '@clinic-mesh/fhir'
import type { OperationOf } from '@clinic-mesh/ledger'
import { emptyCollection, plain, type ChartCollection } from '@clinic-mesh/records'
import { patientAt, writeChart } from './fixtures.js'
import type { BenchRow } from './row.js'

const BUCKETS = 64

/** A 10,000-patient clinic as the relay holds it: 64 chart buckets (one visit with vitals each) and one dispense per patient. */
function clinic(n: number): { buckets: A.Doc<ChartCollection>[]; dispenses: Map<string, ChartDispense[]> } {
  const groups: number[][] = Array.from({ length: BUCKETS }, () => [])
  for (let i = 0; i < n; i++) groups[i % BUCKETS]!.push(i)
  const buckets = groups.map((ids) =>
    A.change(A.from(emptyCollection()), (d) => ids.forEach((i) => writeChart(d, patientAt(i)))),
  )
  const dispenses = new Map<string, ChartDispense[]>()
  for (let i = 0; i < n; i++) {
    const p = patientAt(i)
    const op: OperationOf<'dispense'> = {
      v: 1,
      id: `disp-${i}` as OperationId,
      device: 'dev_pharmacy' as DeviceId,
      user: 'usr_pharmacist' as UserId,
      role: 'pharmacist',
      site: 'site_main' as LocationId,
      hlc: { wall: 1_767_000_000_000 + i, counter: 0, node: 'dev_pharmacy' },
      seq: i + 1,
      prev: null,
      hash: i.toString(16).padStart(64, '0'),
      kind: 'dispense',
      item: 'itm_amox' as ItemId,
      batch: 'AMX-1' as BatchId,
      quantity: 21,
      patient: p.id as PatientId,
      prescription: `rx_${i}` as PrescriptionId,
      prescriptionHash: 'a'.repeat(64),
      priceSeen: 50,
      stockSeen: 1000,
    }
    dispenses.set(p.id, [
      { op, state: i % 2 ? 'settled' : 'tentative', itemName: 'Amoxicillin 250 mg', expiry: '2027-06-30' },
    ])
  }
  return { buckets, dispenses }
}

/** Peak RSS while `fn` runs (sampled every 20 ms). */
async function peakRss<T>(fn: () => Promise<T>): Promise<{ value: T; peak: number }> {
  let peak = process.memoryUsage().rss
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20)
  try {
    const value = await fn()
    return { value, peak: Math.max(peak, process.memoryUsage().rss) }
  } finally {
    clearInterval(timer)
  }
}

/**
 * P9: the relay's `$export` of a 10,000-patient clinic (one visit each with vitals, a dispense), every resource type
 * through `bulkNdjson` (the relay's streaming code) into a byte-counting sink; baseline: the same charts written as
 * plain JSON lines without FHIR mapping. Memory: peak RSS of the bench process during the export, the clinic loaded.
 */
export async function benchFhirExport(n = 10_000): Promise<BenchRow[]> {
  const { buckets, dispenses } = clinic(n)
  ;(globalThis as { gc?: () => void }).gc?.()
  const before = process.memoryUsage().rss
  let bytes = 0
  let resources = 0
  const t0 = performance.now()
  const { peak } = await peakRss(async () => {
    for (const type of CHART_RESOURCE_TYPES) {
      const out = bulkNdjson(buckets, type, { dispenses })
      for (;;) {
        const next = await out.next()
        if (next.done) {
          resources += next.value
          break
        }
        bytes += next.value.length
      }
    }
  })
  const ms = performance.now() - t0
  const b0 = performance.now()
  let baseBytes = 0
  for (const doc of buckets)
    for (const chart of Object.values(doc.charts)) baseBytes += JSON.stringify(plain(chart)).length + 1
  const baseMs = performance.now() - b0
  const grew = (peak - before) / 2 ** 20
  return [
    {
      metric: `P9 FHIR $export, ${n.toLocaleString('en-US')} patients (all types)`,
      ours: ms,
      baseline: baseMs,
      unit: 'ms',
      goal: '≤ 10,000 ms',
      ok: ms <= 10_000,
      note: `${resources.toLocaleString('en-US')} resources, ${(bytes / 2 ** 20).toFixed(0)} MiB NDJSON; baseline: charts as plain JSON lines (${(baseBytes / 2 ** 20).toFixed(0)} MiB), one pass, no mapping`,
    },
    {
      metric: 'P9 FHIR $export memory (RSS growth)',
      ours: grew,
      baseline: null,
      unit: 'MiB',
      goal: '≤ 200 MiB',
      ok: grew <= 200,
      note: `peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB, of which ${(before / 2 ** 20).toFixed(0)} MiB is the clinic loaded before the export (64 Automerge buckets, which the relay holds anyway)`,
    },
  ]
}
