import { ImmutableString, isImmutableString } from '@automerge/automerge'
import { imm, str } from './values.js'
import type { ArchivedStub, Chart, ChartCollection, Encounter } from './types.js'

/** One closed visit leaving a chart for its year's archive document: a plain copy of it, safe to write elsewhere. */
export interface ArchivedVisit {
  encounterId: string
  year: number
  encounter: unknown
}

export interface ArchiveRule {
  /** Now (the device clock): only visits of a year before this one's are archived. */
  now: Date
  /** A visit closed fewer than this many days ago stays on the chart (default 30). */
  minAgeDays?: number
}

const DAY_MS = 86_400_000

/** The calendar year (UTC) a visit belongs to: the year it was opened. */
export function visitYear(enc: Encounter): number {
  return new Date(Date.parse(str(enc.openedAt))).getUTCFullYear()
}

/**
 * The visits of a chart the archive takes now: closed (never open or cancelled-in-progress ones), opened in a year
 * before this one, closed at least `minAgeDays` ago. Each comes as a plain copy (`copyValue`) for the archive document.
 */
export function archivableVisits(chart: Chart, rule: ArchiveRule): ArchivedVisit[] {
  const thisYear = rule.now.getUTCFullYear()
  const before = rule.now.getTime() - (rule.minAgeDays ?? 30) * DAY_MS
  const out: ArchivedVisit[] = []
  for (const [id, enc] of Object.entries(chart.encounters ?? {})) {
    if (str(enc.status) !== 'closed') continue
    const closed = Date.parse(str(enc.closedAt))
    const year = visitYear(enc)
    if (!Number.isFinite(closed) || closed > before || !(year < thisYear)) continue
    out.push({ encounterId: id, year, encounter: copyValue(enc) })
  }
  return out
}

/** The stub a chart keeps of an archived visit. */
export function stubOf(enc: Encounter, year: number): ArchivedStub {
  const stub: ArchivedStub = { year, openedAt: imm(str(enc.openedAt)) }
  if (enc.closedAt !== undefined) stub.closedAt = imm(str(enc.closedAt))
  const reason = str(enc.registration?.reason)
  if (reason) stub.reason = imm(reason)
  return stub
}

/**
 * Leaves a stub of each visit on the chart and removes the visit itself (idempotent: a visit already archived keeps
 * its stub; a stub is written from `visits` when the chart no longer holds the visit, as a repair from the archive).
 */
export function leaveStubs(chart: Chart, visits: readonly ArchivedVisit[]): void {
  for (const v of visits) {
    const held = chart.encounters?.[v.encounterId]
    const source = held ?? (v.encounter as Encounter | undefined)
    if (!chart.archived) chart.archived = {}
    if (chart.archived[v.encounterId] === undefined && source)
      chart.archived[v.encounterId] = stubOf(source, v.year)
    if (held) delete chart.encounters[v.encounterId]
  }
}

/** Whether a chart still needs `leaveStubs` for this archived visit (holds it in full, or has no stub of it). */
export function needsStub(chart: Chart, encounterId: string): boolean {
  return chart.encounters?.[encounterId] !== undefined || chart.archived?.[encounterId] === undefined
}

/**
 * A deep copy of a value read from an Automerge document that can be written into another document: maps and lists
 * copied, `ImmutableString` scalars kept as scalars, collaborative text as a plain string (it becomes text again).
 */
export function copyValue(value: unknown): unknown {
  if (isImmutableString(value)) return new ImmutableString(value.val)
  if (value === null || typeof value !== 'object') return value
  if (value instanceof Date) return new Date(value.getTime())
  if (value instanceof Uint8Array) return new Uint8Array(value)
  if (Array.isArray(value)) return value.map(copyValue)
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = copyValue(v)
  return out
}

/**
 * The records side of an archiving pass (store's `archiveClosedVisits` takes it as its `ArchivePolicy`): which visits
 * of a chart leave for the archive under `rule`, and the stubs they leave behind.
 */
export function chartArchivePolicy(rule: ArchiveRule): {
  pick(bucket: ChartCollection, patientId: string): ArchivedVisit[]
  stub(bucket: ChartCollection, patientId: string, visits: ArchivedVisit[]): void
  needsStub(bucket: ChartCollection, patientId: string, encounterId: string): boolean
  holds(bucket: ChartCollection, patientId: string, encounterId: string): boolean
} {
  return {
    pick: (bucket, pid) => {
      const chart = bucket.charts[pid]
      return chart ? archivableVisits(chart, rule) : []
    },
    stub: (bucket, pid, visits) => {
      const chart = bucket.charts[pid]
      if (chart) leaveStubs(chart, visits)
    },
    needsStub: (bucket, pid, eid) => {
      const chart = bucket.charts[pid]
      return chart !== undefined && needsStub(chart, eid)
    },
    holds: (bucket, pid, eid) => bucket.charts[pid]?.encounters?.[eid] !== undefined,
  }
}
