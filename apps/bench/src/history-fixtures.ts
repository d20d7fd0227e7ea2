import type { DeviceId, EncounterId, PatientId, UserId } from '@clinic-mesh/contracts'
import {
  emptyCollection,
  imm,
  importChart,
  leaveStubs,
  setEncounterStatus,
  type ArchivedVisit,
  type ChartCollection,
} from '@clinic-mesh/records'
import type { FixturePatient } from './fixtures.js'

/** Years of history of the P16 clinic (this one included) and closed visits per chart per year. */
export const HISTORY_YEARS = 5
export const VISITS_PER_YEAR = 3

const NURSE = { user: 'usr_nurse' as UserId, device: 'dev_tablet1' as DeviceId }
const NOTE = 'Fever 3 days, productive cough. Chest clear. Review in one week if not better.'

/** When visit `k` of `year` of patient `i` was opened (months spread, never after October). */
function openedAt(i: number, year: number, k: number): string {
  const month = 1 + ((i + k * 3) % 10)
  const day = 1 + ((i * 7 + k) % 27)
  return `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}T08:30:00.000Z`
}

/** The closed visits of a patient over the last `HISTORY_YEARS` years, as records' import takes them. */
function visitsOf(p: FixturePatient, i: number, thisYear: number): { id: string; at: string }[] {
  const out: { id: string; at: string }[] = []
  for (let y = thisYear - HISTORY_YEARS + 1; y <= thisYear; y++)
    for (let k = 0; k < VISITS_PER_YEAR; k++)
      out.push({ id: `enc_${p.id.slice(3)}_${y}_${k}`, at: openedAt(i, y, k) })
  return out
}

/**
 * A chart with five years of closed visits (triage vitals, a note, closed an hour after opening). With `archived`,
 * the visits of past years are not written to the chart: it gets their stubs, and `archived` receives them (the
 * clinic as an import straight into the archive would leave it, their bytes never in a chart bucket's history).
 */
export function writeHistoryChart(
  d: ChartCollection,
  p: FixturePatient,
  i: number,
  thisYear: number,
  archived?: ArchivedVisit[],
): void {
  const visits = visitsOf(p, i, thisYear)
  // built as a plain object first (as records' import does), then assigned once: a visit left out never enters the
  // bucket's history (one deleted inside the same change would: a change keeps every op it made)
  const scratch = emptyCollection()
  importChart(
    scratch,
    {
      id: p.id as PatientId,
      given: p.given,
      family: p.family,
      birthDate: p.birthDate,
      sex: p.sex,
      identifiers: [{ system: 'national-id', value: p.nid }],
      encounters: visits.map((v) => ({
        id: v.id as EncounterId,
        reason: 'fever and cough',
        arrivedAt: v.at,
        vitals: [{ temperatureC: 38.2, pulseBpm: 96, systolic: 124, diastolic: 82 }],
        notes: NOTE,
      })),
    },
    NURSE,
  )
  const chart = scratch.charts[p.id]!
  for (const v of visits) {
    chart.encounters[v.id]!.openedAt = imm(v.at)
    const closed = new Date(Date.parse(v.at) + 3_600_000).toISOString()
    setEncounterStatus(chart, v.id, 'closed', { ...NURSE, at: closed })
  }
  if (archived) {
    const moved = visits
      .filter((v) => Number(v.at.slice(0, 4)) < thisYear)
      .map((v) => ({ encounterId: v.id, year: Number(v.at.slice(0, 4)), encounter: chart.encounters[v.id] }))
    leaveStubs(chart, moved)
    archived.push(...moved)
  }
  d.charts[p.id] = chart
}
