import type { Chart, QueueStatus } from './types.js'
import { str } from './values.js'

/** One open visit of a chart, as the patient index carries it (the queue reads these, never the charts). */
export interface OpenVisit {
  eid: string
  arrivedAt: string
  reason: string
  queue: QueueStatus
  /** Role sections marked done. */
  done: string[]
}

/** A row of a day's queue: an open visit and the patient's name. */
export interface QueueEntry extends OpenVisit {
  pid: string
  name: string
}

const SECTIONS = ['registration', 'triage', 'clinician', 'pharmacy'] as const
const VERSION = 'v1'

/** The chart's open visits, by encounter id: a pure function of the chart, so repairs by any device converge. */
export function openVisitsOf(chart: Chart): OpenVisit[] {
  const out: OpenVisit[] = []
  for (const [eid, enc] of Object.entries(chart.encounters ?? {})) {
    if (str(enc.status) !== 'open') continue
    out.push({
      eid,
      arrivedAt: str(enc.registration.arrivedAt),
      reason: str(enc.registration.reason),
      queue: str(enc.registration.queue) || 'waiting',
      done: SECTIONS.filter((s) => str(enc[s].status) === 'done'),
    })
  }
  return out.sort((a, b) => (a.eid < b.eid ? -1 : a.eid > b.eid ? 1 : 0))
}

/** Packs open visits into one string (one Automerge value per patient); undefined when there are none. */
export function encodeOpenVisits(visits: OpenVisit[]): string | undefined {
  if (visits.length === 0) return undefined
  return JSON.stringify([VERSION, visits.map((v) => [v.eid, v.arrivedAt, v.reason, v.queue, v.done])])
}

/** The open visits packed by `encodeOpenVisits`; [] for anything it cannot read (a newer format is skipped). */
export function decodeOpenVisits(packed: string | undefined): OpenVisit[] {
  if (!packed) return []
  try {
    const [version, rows] = JSON.parse(packed) as [string, [string, string, string, QueueStatus, string[]][]]
    if (version !== VERSION || !Array.isArray(rows)) return []
    return rows.map(([eid, arrivedAt, reason, queue, done]) => ({ eid, arrivedAt, reason, queue, done }))
  } catch {
    return []
  }
}

/**
 * The day's queue: open visits that arrived on `today`'s local calendar day, oldest arrival first. `visits` is each
 * patient's packed open visits (the index shards' `visits` map), `nameOf` the patient's name from the index.
 */
export function queueOf(
  visits: Iterable<[string, string]>,
  nameOf: (pid: string) => string,
  today = new Date(),
): QueueEntry[] {
  const day = today.toDateString()
  const out: QueueEntry[] = []
  for (const [pid, packed] of visits)
    for (const v of decodeOpenVisits(packed))
      if (new Date(v.arrivedAt).toDateString() === day) out.push({ ...v, pid, name: nameOf(pid) })
  return out.sort((a, b) => (a.arrivedAt < b.arrivedAt ? -1 : a.arrivedAt > b.arrivedAt ? 1 : 0))
}
