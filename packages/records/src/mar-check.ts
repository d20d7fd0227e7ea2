import { InvalidRecordError } from './errors.js'
import type { Chart, MarEvent } from './types.js'
import { MAR_STATUSES } from './types.js'
import { optionalText, requireEnum, requireText } from './validate.js'
import { actorOf, checkTimestamp, str } from './values.js'

/** What the device node requires of a MAR entry a browser adds (see `marEntryProblem`). */
export interface MarEntryCheckOptions {
  /** The signed-in user the entry must name as its author (`by.user`); unchecked when omitted. */
  readonly user?: string
}

/** The fields of one stored entry, checked as `recordAdministration` checks its input. */
function checkFields(ev: MarEvent): void {
  requireText(str(ev.drug), 'drug', 200)
  requireText(str(ev.dose), 'dose', 200)
  requireText(str(ev.route), 'route', 100)
  requireEnum(str(ev.status), MAR_STATUSES, 'status')
  checkTimestamp(str(ev.administeredAt), 'administeredAt')
  checkTimestamp(str(ev.recordedAt), 'recordedAt')
  optionalText(ev.note === undefined ? undefined : str(ev.note), 'note')
  // either stored form (packed `user device`, or the map before schema 3); a malformed packed value is refused
  if (!actorOf(ev.by)) throw new InvalidRecordError('by needs a user and a device')
}

/**
 * Why MAR entry `id` of `chart` would not be accepted from a browser, or undefined when it is acceptable: its fields
 * are valid; it names a line of a signed prescription of this chart (`prescriptionId` + `itemId`, the medicine of that
 * line); a correction (`corrects`) names an existing entry of the same line; its author is the signed-in user. The
 * device node applies this to every MAR entry a browser's change adds (append-only is the field policy's part).
 */
export function marEntryProblem(
  chart: Chart,
  id: string,
  opts: MarEntryCheckOptions = {},
): string | undefined {
  const ev = chart.mar?.[id]
  if (ev === undefined || ev === null || typeof ev !== 'object') return `MAR entry ${id} is not an entry`
  try {
    checkFields(ev)
  } catch (err) {
    if (err instanceof InvalidRecordError) return `MAR entry ${id}: ${err.message}`
    throw err
  }
  if (str(ev.id) !== id) return `MAR entry ${id} carries another id (${str(ev.id)})`
  const author = actorOf(ev.by)?.user
  if (opts.user !== undefined && author !== opts.user)
    return `MAR entry ${id} names ${author ?? 'no one'} as its author, not the signed-in user`
  const rxId = str(ev.prescriptionId)
  const lineId = str(ev.itemId)
  const rx = rxId ? chart.prescriptions?.[rxId] : undefined
  if (!rx || str(rx.status) !== 'signed' || !rx.signed)
    return `MAR entry ${id} must name a signed prescription of this patient`
  const line = rx.items?.[lineId]
  if (!line) return `MAR entry ${id}: prescription ${rxId} has no line ${lineId || '(none named)'}`
  if (str(ev.drug) !== str(line.drug))
    return `MAR entry ${id}: the medicine is not the one prescribed on that line (${str(line.drug)})`
  if (ev.corrects !== undefined) {
    const target = chart.mar[str(ev.corrects)]
    if (!target || str(ev.corrects) === id) return `MAR entry ${id} corrects an entry that does not exist`
    if (str(target.prescriptionId) !== rxId || str(target.itemId) !== lineId)
      return `MAR entry ${id} corrects an entry of another prescription line`
  }
  return undefined
}
