import * as A from '@automerge/automerge'
import type { DeviceId, PatientId, UserId } from '@clinic-mesh/contracts'
import {
  editNotes,
  emptyCollection,
  importChart,
  openEncounter,
  plain,
  recordVitals,
  registerPatient,
  type ChartCollection,
} from '@clinic-mesh/records'
/**
 * Synthetic clinic data for the layout bench: deterministic names from a seed, one chart per patient with
 * one encounter (registration, triage vitals, a clinician note), shaped like records' ChartCollection.
 */
const GIVEN = [
  'Chikondi',
  'Grace',
  'Mphatso',
  'Thoko',
  'Kondwani',
  'Ana',
  'Joseph',
  'Mercy',
  'Blessings',
  'Yamikani',
  'Tiyamike',
  'Limbani',
  'Chisomo',
  'Dalitso',
  'Esther',
  'Francis',
]
const FAMILY = [
  'Banda',
  'Phiri',
  'Mwale',
  'Tembo',
  'Moyo',
  'Chirwa',
  'Nkhoma',
  'Kumwenda',
  'Mbewe',
  'Zulu',
  'Gondwe',
  'Kachale',
  'Nyirenda',
  'Lungu',
  'Sakala',
  'Mvula',
]

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) / 0x100000000
  }
}

export interface FixturePatient {
  id: string
  given: string
  family: string
  birthDate: string
  sex: 'female' | 'male'
  nid: string
}

export function patientAt(i: number): FixturePatient {
  const r = rng(i + 1)
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!
  const year = 1940 + Math.floor(r() * 80)
  const month = 1 + Math.floor(r() * 12)
  const day = 1 + Math.floor(r() * 28)
  return {
    id: `pt_${i.toString(16).padStart(8, '0')}${Math.floor(r() * 0xffffffff)
      .toString(16)
      .padStart(8, '0')}`,
    given: `${pick(GIVEN)}${i % 7 === 0 ? ` ${pick(GIVEN)}` : ''}`,
    family: pick(FAMILY),
    birthDate: `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`,
    sex: r() < 0.5 ? 'female' : 'male',
    nid: `MW${String(100000 + i)}`,
  }
}

const NURSE = { user: 'usr_nurse' as UserId, device: 'dev_tablet1' as DeviceId }

/**
 * One registration plus one visit (triage vitals, a clinician note), as a bulk import writes it: records'
 * `importChart`, the same chart as `registerPatient` + `openEncounter` + `recordVitals` + `editNotes` (see
 * `writeChartStepwise`) in one assignment.
 */
export function writeChart(d: ChartCollection, p: FixturePatient): void {
  importChart(
    d,
    {
      id: p.id as PatientId,
      given: p.given,
      family: p.family,
      birthDate: p.birthDate,
      sex: p.sex,
      identifiers: [{ system: 'national-id', value: p.nid }],
      encounters: [
        { reason: 'fever and cough', vitals: [{ temperatureC: 38.2, pulseBpm: 96 }], notes: NOTE },
      ],
    },
    NURSE,
  )
}

const NOTE = 'Fever 3 days, productive cough. Chest clear.'

/** The same chart written field by field through the records helpers, as the device node does at the desk. */
export function writeChartStepwise(d: ChartCollection, p: FixturePatient): void {
  registerPatient(
    d,
    {
      id: p.id as PatientId,
      given: p.given,
      family: p.family,
      birthDate: p.birthDate,
      sex: p.sex,
      identifiers: [{ system: 'national-id', value: p.nid }],
    },
    NURSE,
  )
  const chart = d.charts[p.id]!
  const eid = openEncounter(chart, { reason: 'fever and cough' }, NURSE)
  recordVitals(chart, eid, { temperatureC: 38.2, pulseBpm: 96 }, NURSE)
  editNotes(chart, eid, NOTE, NURSE)
}

/** The same chart as one plain JSON object, for the baselines (PouchDB document, one Automerge doc per chart). */
export function plainChart(p: FixturePatient): Record<string, unknown> {
  let doc = A.from(emptyCollection())
  doc = A.change(doc, (d) => writeChart(d, p))
  return plain(doc.charts[p.id]) as Record<string, unknown>
}
