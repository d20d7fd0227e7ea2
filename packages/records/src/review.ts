import { getConflicts } from '@automerge/automerge'
import { RX_LINE_FIELDS, canonicalJson } from '@clinic-mesh/contracts'
import { InvalidRecordError, SignedPrescriptionError, UnknownRecordError } from './errors.js'
import { isSigned } from './prescription.js'
import type { Actor, Chart, ChartCollection } from './types.js'
import { imm, plain, stamp } from './values.js'

/** A clinical field that holds concurrent values: Automerge picked `winner`; `others` lost but must be reviewed. */
export interface ReviewMarker {
  path: string[]
  winner: unknown
  others: unknown[]
}

type Obj = Record<string, unknown>

function check(out: ReviewMarker[], obj: object | undefined, path: string[], keys: readonly string[]): void {
  if (!obj) return
  for (const key of keys) {
    let conflicts: Record<string, unknown> | undefined
    try {
      conflicts = getConflicts(obj, key)
    } catch {
      return // not an Automerge object
    }
    if (!conflicts) continue
    const winner = plain((obj as Obj)[key])
    const seen = new Set([canonicalJson(winner ?? null)])
    const others: unknown[] = []
    for (const v of Object.values(conflicts)) {
      const p = plain(v)
      const k = canonicalJson(p ?? null)
      if (seen.has(k)) continue
      seen.add(k)
      others.push(p)
    }
    if (others.length > 0) out.push({ path: [...path, key], winner, others })
  }
}

function each<T extends object>(
  out: ReviewMarker[],
  map: { [id: string]: T },
  path: string[],
  fn: (v: T, p: string[]) => void,
): void {
  check(out, map, path, Object.keys(map))
  for (const [id, v] of Object.entries(map)) fn(v, [...path, id])
}

function chartMarkers(out: ReviewMarker[], chart: Chart, base: string[]): void {
  const p = chart.patient
  check(out, p.name, [...base, 'patient', 'name'], ['given', 'family'])
  check(out, p, [...base, 'patient'], ['birthDate', 'sex'])
  each(out, p.allergies, [...base, 'patient', 'allergies'], (a, path) =>
    check(out, a, path, ['substance', 'severity', 'reaction']),
  )
  each(out, p.problems, [...base, 'patient', 'problems'], (x, path) =>
    check(out, x, path, ['text', 'code', 'status']),
  )
  for (const [id, enc] of Object.entries(chart.encounters)) {
    const path = [...base, 'encounters', id]
    check(out, enc, path, ['status'])
    check(out, enc.registration, [...path, 'registration'], ['reason', 'queue', 'status'])
    for (const section of ['triage', 'clinician', 'pharmacy'] as const)
      check(out, enc[section], [...path, section], ['status'])
    each(out, enc.clinician.diagnoses, [...path, 'clinician', 'diagnoses'], (x, q) =>
      check(out, x, q, ['text', 'code', 'certainty']),
    )
    each(out, enc.orders, [...path, 'orders'], (x, q) => check(out, x, q, ['kind', 'text', 'status']))
  }
  for (const [id, rx] of Object.entries(chart.prescriptions)) {
    const path = [...base, 'prescriptions', id]
    check(out, rx, path, ['status', 'signed'])
    each(out, rx.items, [...path, 'items'], (x, q) => check(out, x, q, [...RX_LINE_FIELDS]))
  }
  // MAR ids are append-only: two different entries under one id (a reused idempotency key) must be reviewed.
  check(out, chart.mar, [...base, 'mar'], Object.keys(chart.mar))
}

/**
 * Every clinically relevant field of the collection (or of the listed patients) where concurrent writes left
 * more than one distinct value. Equal concurrent values are not reported. Notes (text) merge and never appear.
 */
export function needsReview(
  doc: ChartCollection,
  options: { patientIds?: readonly string[] } = {},
): ReviewMarker[] {
  const out: ReviewMarker[] = []
  const ids = options.patientIds ?? Object.keys(doc.charts)
  for (const id of ids) {
    const chart = doc.charts[id]
    if (chart) chartMarkers(out, chart, ['charts', id])
  }
  if (!options.patientIds) each(out, doc.links, ['links'], (l, path) => check(out, l, path, ['active']))
  return out
}

/**
 * Clears a review marker by writing the chosen value (inside `A.change`): the new write supersedes every
 * concurrent value. `value` must be one of the marker's values unless `allowNew` is set.
 */
export function resolveReview(
  d: ChartCollection,
  marker: Pick<ReviewMarker, 'path'> & Partial<Pick<ReviewMarker, 'winner' | 'others'>>,
  value: string | number | boolean,
  actor: Actor,
  options: { allowNew?: boolean } = {},
): void {
  stamp(actor)
  const path = marker.path
  if (path.length < 2) throw new InvalidRecordError('review path too short')
  if (path[0] === 'charts' && path[2] === 'prescriptions' && path[3] !== undefined) {
    const rx = d.charts[path[1]!]?.prescriptions[path[3]]
    if (rx && isSigned(rx))
      throw new SignedPrescriptionError(`prescription ${path[3]} is signed; it cannot be resolved in place`)
  }
  let obj: unknown = d
  for (const key of path.slice(0, -1)) {
    obj = (obj as Obj | undefined)?.[key]
    if (obj === null || typeof obj !== 'object')
      throw new UnknownRecordError(`no record at ${path.join('.')}`)
  }
  if (typeof value === 'object' || value === undefined)
    throw new InvalidRecordError('only scalar values can be chosen')
  if (!options.allowNew && marker.winner !== undefined) {
    const candidates = [marker.winner, ...(marker.others ?? [])]
    if (!candidates.some((c) => c === value))
      throw new InvalidRecordError(`value ${JSON.stringify(value)} is not one of the reviewed values`)
  }
  const key = path[path.length - 1]!
  const current = (obj as Obj)[key]
  // Keep the field's kind: collaborative text stays text, everything else is a scalar.
  ;(obj as Obj)[key] = typeof value === 'string' && typeof current !== 'string' ? imm(value) : value
}
