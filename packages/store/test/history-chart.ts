import {
  chartArchivePolicy,
  emptyCollection,
  imm,
  importChart,
  setEncounterStatus,
  summarize,
  type Actor,
  type ChartCollection,
} from '@clinic-mesh/records'
import type { PatientId } from '@clinic-mesh/contracts'
import type { PatientSummary } from '@clinic-mesh/store'

/** One visit of a test chart: opened at `opened`, closed at `closed` (absent: still open). */
export interface TestVisit {
  id: string
  opened: string
  closed?: string
}

const actor = (at: string): Actor => ({
  user: 'u-doc' as Actor['user'],
  device: 'd-1' as Actor['device'],
  at,
})

/** Writes a chart with these visits (records' importChart, then each closed one closed at its time). */
export function historyChart(d: ChartCollection, pid: string, family: string, visits: TestVisit[]): void {
  importChart(
    d,
    {
      id: pid as PatientId,
      given: 'Amina',
      family,
      birthDate: '1990-01-01',
      sex: 'female',
      encounters: visits.map((v) => ({ id: v.id as never, reason: `visit ${v.id}`, arrivedAt: v.opened })),
    },
    actor('2020-01-01T00:00:00Z'),
  )
  const chart = d.charts[pid]!
  for (const v of visits) {
    chart.encounters[v.id]!.openedAt = imm(v.opened)
    if (v.closed) setEncounterStatus(chart, v.id, 'closed', actor(v.closed))
  }
}

export const emptyBucket = emptyCollection
export const summarizeOf = (b: ChartCollection, pid: string): PatientSummary | undefined => {
  const c = b.charts[pid]
  return c ? summarize(c) : undefined
}

/** The archiving rule of the tests: now is 10 January 2026, visits closed 30+ days ago leave. */
export const NOW = new Date('2026-01-10T12:00:00Z')
export const policy = chartArchivePolicy({ now: NOW, minAgeDays: 30 })
