import { newId, type PatientId } from '@clinic-mesh/contracts'
import { InvalidRecordError, UnknownRecordError } from './errors.js'
import type { Actor, ChartCollection, PatientLink } from './types.js'
import { imm, stamp, str } from './values.js'

function samePair(link: PatientLink, a: string, b: string): boolean {
  const x = str(link.a)
  const y = str(link.b)
  return (x === a && y === b) || (x === b && y === a)
}

/** How a link is written when the two charts live in different collections (chart buckets). */
export interface LinkOptions {
  /**
   * Only `a` is in this collection; `b` is in another one, where the caller records the same link (same `id`). A
   * screen linking two patients of different buckets writes each bucket once.
   */
  readonly acrossBuckets?: boolean
  /** The link's id (the same in every bucket that records it); new when absent. */
  readonly id?: string
}

/**
 * Records that charts `a` and `b` are the same person. Both charts stay; the link is a record of its own.
 * Returns the id of the (new or already active) link.
 */
export function linkPatients(
  d: ChartCollection,
  a: PatientId,
  b: PatientId,
  actor: Actor,
  options: LinkOptions = {},
): string {
  if (a === b) throw new InvalidRecordError('cannot link a patient to itself')
  for (const id of options.acrossBuckets ? [a] : [a, b])
    if (!d.charts[id]) throw new UnknownRecordError(`no chart for patient ${id}`)
  const { by, at } = stamp(actor)
  for (const [id, link] of Object.entries(d.links)) if (link.active && samePair(link, a, b)) return id
  const id = options.id ?? newId('lnk')
  const [x, y] = a < b ? [a, b] : [b, a]
  d.links[id] = { a: imm(x), b: imm(y), kind: imm('same-person'), by, at, active: true }
  return id
}

/** Whether an active same-person link between `a` and `b` is recorded in this collection. */
export function areLinked(d: ChartCollection, a: string, b: string): boolean {
  return Object.values(d.links).some((l) => l.active && samePair(l, a, b))
}

/** Marks every active link between `a` and `b` inactive (never deletes). Returns how many were deactivated. */
export function unlinkPatients(d: ChartCollection, a: PatientId, b: PatientId, actor: Actor): number {
  const { by, at } = stamp(actor)
  let n = 0
  for (const link of Object.values(d.links)) {
    if (!link.active || !samePair(link, a, b)) continue
    link.active = false
    link.unlinkedBy = by
    link.unlinkedAt = at
    n++
  }
  return n
}

/** Patient ids grouped by active same-person links (transitively): id → group representative. */
export function linkGroups(links: { [id: string]: PatientLink }): Map<string, string> {
  const parent = new Map<string, string>()
  const find = (x: string): string => {
    let r = x
    for (let p = parent.get(r); p !== undefined && p !== r; p = parent.get(r)) r = p
    return r
  }
  for (const link of Object.values(links)) {
    if (!link.active) continue
    const ra = find(str(link.a))
    const rb = find(str(link.b))
    if (!parent.has(ra)) parent.set(ra, ra)
    if (!parent.has(rb)) parent.set(rb, rb)
    if (ra !== rb) parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb)
  }
  const out = new Map<string, string>()
  for (const id of parent.keys()) out.set(id, find(id))
  return out
}
