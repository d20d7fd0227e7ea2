import { updateText, splice } from '@automerge/automerge'
import { newId, type EncounterId } from '@clinic-mesh/contracts'
import { InvalidRecordError, UnknownRecordError } from './errors.js'
import type {
  Actor,
  Chart,
  Diagnosis,
  Encounter,
  EncounterStatus,
  Order,
  QueueStatus,
  SectionStatus,
  VitalsEntry,
  VitalsValues,
} from './types.js'
import { ENCOUNTER_STATUSES, QUEUE_STATUSES, SECTION_STATUSES } from './types.js'
import { optionalText, requireEnum, requireText, requireVitals } from './validate.js'
import { checkTimestamp, imm, stamp } from './values.js'
import { checkNotes } from './notes.js'

export interface OpenEncounterInput {
  id?: EncounterId
  reason: string
  arrivedAt?: string
  queue?: QueueStatus
}

export function encounterOf(chart: Chart, encounterId: string): Encounter {
  const enc = chart.encounters[encounterId]
  if (!enc) throw new UnknownRecordError(`no encounter ${encounterId}`)
  return enc
}

/**
 * Opens a visit. Creates up front everything several roles may write concurrently (vitals, notes text,
 * diagnoses, orders, dispensed): one device creates the encounter, so these containers never conflict.
 */
export function openEncounter(chart: Chart, input: OpenEncounterInput, actor: Actor): EncounterId {
  const { id, encounter } = newEncounter(input, actor)
  if (chart.encounters[id]) throw new InvalidRecordError(`encounter ${id} exists already`)
  chart.encounters[id] = encounter
  return id
}

/** The value `openEncounter` writes, validated, as a plain object (not yet in any document). */
export function newEncounter(
  input: OpenEncounterInput,
  actor: Actor,
): { id: EncounterId; encounter: Encounter } {
  const reason = requireText(input?.reason, 'reason')
  const queue = requireEnum(input.queue ?? 'waiting', QUEUE_STATUSES, 'queue')
  if (input.arrivedAt !== undefined) checkTimestamp(input.arrivedAt, 'arrivedAt')
  const { by, at } = stamp(actor)
  const id = input.id ?? newId<EncounterId>('enc')
  const encounter: Encounter = {
    id: imm(id),
    status: imm('open'),
    openedBy: by,
    openedAt: at,
    registration: {
      reason: imm(reason),
      arrivedAt: input.arrivedAt ? imm(input.arrivedAt) : at,
      queue: imm(queue),
    },
    triage: { vitals: {} },
    clinician: { notes: '', diagnoses: {} },
    orders: {},
    pharmacy: { dispensed: {} },
  }
  return { id, encounter }
}

export function setQueueStatus(chart: Chart, encounterId: string, queue: QueueStatus, actor: Actor): void {
  const enc = encounterOf(chart, encounterId)
  const value = requireEnum(queue, QUEUE_STATUSES, 'queue')
  const { by, at } = stamp(actor)
  enc.registration.queue = imm(value)
  enc.registration.by = by
  enc.registration.at = at
}

export function setEncounterStatus(
  chart: Chart,
  encounterId: string,
  status: EncounterStatus,
  actor: Actor,
): void {
  const enc = encounterOf(chart, encounterId)
  const value = requireEnum(status, ENCOUNTER_STATUSES, 'status')
  const { by, at } = stamp(actor)
  enc.status = imm(value)
  if (value !== 'open') {
    enc.closedBy = by
    enc.closedAt = at
  }
}

/** Sets a role's section status ('in-progress' | 'done') with who/when. */
export function setSectionStatus(
  chart: Chart,
  encounterId: string,
  section: 'registration' | 'triage' | 'clinician' | 'pharmacy',
  status: SectionStatus,
  actor: Actor,
): void {
  const enc = encounterOf(chart, encounterId)
  const value = requireEnum(status, SECTION_STATUSES, 'section status')
  const target = requireEnum(section, ['registration', 'triage', 'clinician', 'pharmacy'] as const, 'section')
  const { by, at } = stamp(actor)
  const s = enc[target]
  s.status = imm(value)
  s.by = by
  s.at = at
}

/** Adds one set of vitals under a fresh id (add-wins). `takenAt` defaults to the actor's time. */
export function recordVitals(
  chart: Chart,
  encounterId: string,
  vitals: VitalsValues,
  actor: Actor,
  takenAt?: string,
): string {
  const enc = encounterOf(chart, encounterId)
  const { id, entry } = newVitals(vitals, actor, takenAt)
  enc.triage.vitals[id] = entry
  return id
}

/** The value `recordVitals` writes, validated, under its fresh id. */
export function newVitals(
  vitals: VitalsValues,
  actor: Actor,
  takenAt?: string,
): { id: string; entry: VitalsEntry } {
  const values = requireVitals(vitals)
  if (takenAt !== undefined) checkTimestamp(takenAt, 'takenAt')
  const { by, at } = stamp(actor)
  return { id: newId('vit'), entry: { values, takenAt: takenAt ? imm(takenAt) : at, by } }
}

/** Vitals are never erased: a wrong set is flagged and stays in the record. */
export function markVitalsInError(chart: Chart, encounterId: string, vitalsId: string, actor: Actor): void {
  const entry = encounterOf(chart, encounterId).triage.vitals[vitalsId]
  if (!entry) throw new UnknownRecordError(`no vitals ${vitalsId}`)
  stamp(actor)
  entry.enteredInError = true
}

/**
 * Replaces the clinician's notes with `text` by diffing (Automerge `updateText`): only the changed characters
 * are written, so another clinician's concurrent typing elsewhere in the notes survives the merge.
 */
export function editNotes(chart: Chart, encounterId: string, text: string, actor: Actor): void {
  const enc = encounterOf(chart, encounterId)
  checkNotes(text)
  const { by, at } = stamp(actor)
  updateText(enc.clinician, ['notes'], text)
  enc.clinician.by = by
  enc.clinician.at = at
}

/** Inserts/deletes at a position of the notes (what an editor's keystroke produces). */
export function spliceNotes(
  chart: Chart,
  encounterId: string,
  index: number,
  deleteCount: number,
  insert: string,
  actor: Actor,
): void {
  const enc = encounterOf(chart, encounterId)
  const length = enc.clinician.notes.length
  if (!Number.isInteger(index) || index < 0 || index > length)
    throw new InvalidRecordError(`index ${index} outside the notes`)
  if (!Number.isInteger(deleteCount) || deleteCount < 0 || index + deleteCount > length) {
    throw new InvalidRecordError(`cannot delete ${deleteCount} characters at ${index}`)
  }
  if (typeof insert !== 'string') throw new InvalidRecordError('insert must be a string')
  const { by, at } = stamp(actor)
  splice(enc.clinician, ['notes'], index, deleteCount, insert)
  enc.clinician.by = by
  enc.clinician.at = at
}

export interface DiagnosisInput {
  text: string
  code?: string
  certainty?: 'provisional' | 'confirmed'
}

export function addDiagnosis(chart: Chart, encounterId: string, input: DiagnosisInput, actor: Actor): string {
  const enc = encounterOf(chart, encounterId)
  const text = requireText(input?.text, 'diagnosis.text')
  const code = optionalText(input.code, 'diagnosis.code', 50)
  const certainty = requireEnum(
    input.certainty ?? 'provisional',
    ['provisional', 'confirmed'] as const,
    'certainty',
  )
  const { by, at } = stamp(actor)
  const id = newId('dx')
  const dx: Diagnosis = { text: imm(text), certainty: imm(certainty), by, at }
  if (code !== undefined) dx.code = imm(code)
  enc.clinician.diagnoses[id] = dx
  return id
}

const ORDER_KINDS = ['lab', 'imaging', 'procedure', 'referral', 'other'] as const

export function addOrder(
  chart: Chart,
  encounterId: string,
  input: { kind: Order['kind']['val']; text: string },
  actor: Actor,
): string {
  const enc = encounterOf(chart, encounterId)
  const kind = requireEnum(input?.kind, ORDER_KINDS, 'order.kind')
  const text = requireText(input.text, 'order.text')
  const { by, at } = stamp(actor)
  const id = newId('ord')
  enc.orders[id] = { kind: imm(kind), text: imm(text), status: imm('requested'), by, at }
  return id
}

export function setOrderStatus(
  chart: Chart,
  encounterId: string,
  orderId: string,
  status: Order['status']['val'],
  actor: Actor,
): void {
  const order = encounterOf(chart, encounterId).orders[orderId]
  if (!order) throw new UnknownRecordError(`no order ${orderId}`)
  const value = requireEnum(status, ['requested', 'done', 'cancelled'] as const, 'order.status')
  stamp(actor)
  order.status = imm(value)
}
