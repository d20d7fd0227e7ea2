import { newId } from '@clinic-mesh/contracts'
import { AppendOnlyError, UnknownRecordError } from './errors.js'
import type { Actor, Chart, MarEvent, MarStatus } from './types.js'
import { MAR_STATUSES } from './types.js'
import { optionalText, requireEnum, requireText } from './validate.js'
import { checkTimestamp, imm, stamp, str } from './values.js'

export interface MarInput {
  /** Optional caller-chosen id (idempotency): recording an existing id throws `AppendOnlyError`. */
  id?: string
  drug: string
  dose: string
  route: string
  status: MarStatus
  administeredAt: string
  prescriptionId?: string
  itemId?: string
  note?: string
}

function append(chart: Chart, input: MarInput, actor: Actor, corrects?: string): string {
  const drug = requireText(input?.drug, 'drug', 200)
  const dose = requireText(input.dose, 'dose', 200)
  const route = requireText(input.route, 'route', 100)
  const status = requireEnum(input.status, MAR_STATUSES, 'status')
  checkTimestamp(input.administeredAt, 'administeredAt')
  const note = optionalText(input.note, 'note')
  const { by, at } = stamp(actor)
  const id = input.id ?? newId('mar')
  if (chart.mar[id]) throw new AppendOnlyError(`MAR entry ${id} exists; record a correction instead`)
  const ev: MarEvent = {
    id: imm(id),
    drug: imm(drug),
    dose: imm(dose),
    route: imm(route),
    status: imm(status),
    administeredAt: imm(input.administeredAt),
    by,
    recordedAt: at,
  }
  if (input.prescriptionId) ev.prescriptionId = imm(input.prescriptionId) as MarEvent['prescriptionId']
  if (input.itemId) ev.itemId = imm(input.itemId)
  if (note !== undefined) ev.note = imm(note)
  if (corrects !== undefined) ev.corrects = imm(corrects)
  chart.mar[id] = ev
  return id
}

/** Appends an administration event. Existing entries are never modified. */
export function recordAdministration(chart: Chart, input: MarInput, actor: Actor): string {
  return append(chart, input, actor)
}

/** Appends a correction of entry `correctsId` (status 'entered-in-error' withdraws it). */
export function correctAdministration(
  chart: Chart,
  correctsId: string,
  input: MarInput,
  actor: Actor,
): string {
  if (!chart.mar[correctsId]) throw new UnknownRecordError(`no MAR entry ${correctsId}`)
  return append(chart, input, actor, correctsId)
}

export interface EffectiveMarEntry {
  /** The event in force (the latest correction of the chain, or the original). */
  event: MarEvent
  /** The original entry's id, then every correction up to `event`. */
  chain: string[]
  /** Other corrections of the same entry recorded concurrently (they need review). */
  competing: string[]
}

function later(a: MarEvent, b: MarEvent): boolean {
  const ra = str(a.recordedAt)
  const rb = str(b.recordedAt)
  return ra !== rb ? ra > rb : str(a.id) > str(b.id)
}

/**
 * Resolves corrections: one entry per original administration, holding the latest correction of its chain,
 * ordered by administration time. Chains ending in 'entered-in-error' are left out. When one entry has several
 * corrections (made concurrently on two devices) the latest recorded wins and the others are listed as competing.
 */
export function effectiveMar(chart: Chart): EffectiveMarEntry[] {
  const byTarget = new Map<string, MarEvent[]>()
  for (const ev of Object.values(chart.mar)) {
    if (ev.corrects === undefined) continue
    const target = str(ev.corrects)
    const list = byTarget.get(target)
    if (list) list.push(ev)
    else byTarget.set(target, [ev])
  }
  const out: EffectiveMarEntry[] = []
  for (const root of Object.values(chart.mar)) {
    if (root.corrects !== undefined && chart.mar[str(root.corrects)]) continue
    let current = root
    const chain = [str(root.id)]
    const competing: string[] = []
    const seen = new Set(chain)
    for (;;) {
      const next = byTarget.get(str(current.id))
      if (!next || next.length === 0) break
      let best = next[0]!
      for (const ev of next) if (later(ev, best)) best = ev
      for (const ev of next) if (ev !== best) competing.push(str(ev.id))
      if (seen.has(str(best.id))) break
      seen.add(str(best.id))
      chain.push(str(best.id))
      current = best
    }
    if (str(current.status) === 'entered-in-error') continue
    out.push({ event: current, chain, competing })
  }
  const key = (e: EffectiveMarEntry): string => `${str(e.event.administeredAt)}\u0000${e.chain[0] ?? ''}`
  out.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
  return out
}
