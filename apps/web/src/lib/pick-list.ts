import { lineBalances, str, type Chart, type ChartCollection } from '@clinic-mesh/records'
import { todaysQueue } from './queue.js'

/** One prescription line still to hand out, on the pick list. */
export interface PickLine {
  itemId: string
  drug: string
  /** How to take it, as prescribed: `500 mg oral 3 times a day for 5 days` (and the instructions). */
  directions: string
  prescribed: number
  remaining: number
}

/** One visit of today with what remains to dispense of its signed prescriptions. */
export interface PickVisit {
  pid: string
  eid: string
  name: string
  lines: PickLine[]
}

/** The day's pick list: per visit, then per item (what to take off the shelf). */
export interface PickList {
  visits: PickVisit[]
  items: { itemId: string; drug: string; remaining: number }[]
}

/** Units handed out per prescription line, from what the device node wrote onto the chart (every tablet's). */
function dispensedByLine(chart: Chart, eid: string, rxId: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const d of Object.values(chart.encounters[eid]?.pharmacy.dispensed ?? {})) {
    if (str(d.prescriptionId) !== rxId || typeof d.quantity !== 'number') continue
    const line = str(d.line)
    if (line) out[line] = (out[line] ?? 0) + d.quantity
  }
  return out
}

/**
 * Every signed prescription of today's open visits with what remains to dispense, per line and per item, as this
 * tablet knows the charts (the node writes each accepted dispense onto the chart, so every tablet's count in).
 */
export function pickList(buckets: ChartCollection[], today = new Date()): PickList {
  const visits: PickVisit[] = []
  const items = new Map<string, { itemId: string; drug: string; remaining: number }>()
  const charts = new Map<string, Chart>()
  for (const b of buckets) for (const [pid, c] of Object.entries(b.charts)) charts.set(pid, c)
  for (const q of todaysQueue(buckets, today)) {
    const chart = charts.get(q.pid)
    if (!chart) continue
    const lines: PickLine[] = []
    for (const rx of Object.values(chart.prescriptions)) {
      if (str(rx.encounterId) !== q.eid || str(rx.status) !== 'signed') continue
      const balances = lineBalances(rx, dispensedByLine(chart, q.eid, str(rx.id)))
      for (const b of balances) {
        const it = rx.items[b.line]
        if (!it || b.remaining === undefined || b.remaining <= 0 || b.prescribed === undefined) continue
        const itemId = b.itemId ?? b.drug
        const how = `${str(it.dose)} ${str(it.route)} ${str(it.frequency)} for ${str(it.duration)}`
        lines.push({
          itemId,
          drug: b.drug,
          directions: it.instructions ? `${how}; ${str(it.instructions)}` : how,
          prescribed: b.prescribed,
          remaining: b.remaining,
        })
        const total = items.get(itemId) ?? { itemId, drug: b.drug, remaining: 0 }
        total.remaining += b.remaining
        items.set(itemId, total)
      }
    }
    // by medicine name, as the shelf is walked (a prescription's lines are a map: their own order is not stable)
    lines.sort((a, b) => a.drug.localeCompare(b.drug))
    if (lines.length > 0) visits.push({ pid: q.pid, eid: q.eid, name: q.name, lines })
  }
  return { visits, items: [...items.values()].sort((a, b) => a.drug.localeCompare(b.drug)) }
}
