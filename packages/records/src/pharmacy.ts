import { newId } from '@clinic-mesh/contracts'
import { InvalidRecordError, UnknownRecordError } from './errors.js'
import { encounterOf } from './encounter.js'
import { prescriptionOf } from './prescription.js'
import type { Actor, Chart, DispenseNote, Prescription } from './types.js'
import { optionalText, requireText } from './validate.js'
import { imm, stamp, str } from './values.js'
import { verifyPrescription } from './verify.js'

/** What was handed out for one prescription line (the ledger's dispense operation, as the chart records it). */
export interface DispensedLineInput {
  /** the prescription line (`rx.items` key) */
  line: string
  quantity: number
  /** the lot handed out (null: the relay picks first-expiry-first-out) */
  batch?: string | null
  /** the ledger operation id of the dispense */
  op?: string
}

/**
 * The pharmacy section's record that a prescription was handed out: references the verified signed version
 * by hash, and with `dispensed` the line, lot and units. Refuses a prescription that does not verify
 * (`InvalidRecordError` carrying the reason) and a line the prescription does not hold (`UnknownRecordError`).
 */
export function recordDispenseNote(
  chart: Chart,
  encounterId: string,
  rxId: string,
  actor: Actor,
  note?: string,
  dispensed?: DispensedLineInput,
): string {
  const enc = encounterOf(chart, encounterId)
  const rx = prescriptionOf(chart, rxId)
  const check = verifyPrescription(rx)
  if (!check.ok)
    throw new InvalidRecordError(
      `prescription ${rxId} cannot be dispensed: ${check.reason} (${check.detail})`,
    )
  const text = optionalText(note, 'note')
  const { by, at } = stamp(actor)
  const entry: DispenseNote = { prescriptionId: rx.id, prescriptionHash: imm(check.hash), by, at }
  if (dispensed) {
    const item = rx.items[dispensed.line]
    if (!item) throw new UnknownRecordError(`no line ${dispensed.line} in prescription ${rxId}`)
    if (!Number.isSafeInteger(dispensed.quantity) || dispensed.quantity < 1)
      throw new InvalidRecordError('quantity must be a whole number of units, at least 1')
    entry.line = imm(dispensed.line)
    entry.drug = imm(str(item.drug))
    if (item.itemId !== undefined) entry.itemId = imm(str(item.itemId))
    entry.quantity = dispensed.quantity
    if (dispensed.batch) entry.batch = imm(requireText(dispensed.batch, 'batch', 256))
    if (dispensed.op) entry.op = imm(requireText(dispensed.op, 'op', 256))
  }
  const id = newId('dsp')
  enc.pharmacy.dispensed[id] = entry
  if (text !== undefined) enc.pharmacy.note = imm(text)
  enc.pharmacy.by = by
  enc.pharmacy.at = at
  return id
}

/** One line of a prescription with what was prescribed, handed out, and what is left to hand out. */
export interface LineBalance {
  line: string
  itemId: string | undefined
  drug: string
  /** undefined: a line written before coding (no quantity to count against) */
  prescribed: number | undefined
  dispensed: number
  remaining: number | undefined
}

/**
 * Per line, prescribed minus dispensed. `dispensed` is the sum per line of every dispense of this prescription the
 * caller knows of (a device node: every tablet's dispenses in the clinic's ledger logs it holds). Never below 0.
 */
export function lineBalances(rx: Prescription, dispensed: Readonly<Record<string, number>>): LineBalance[] {
  return Object.entries(rx.items).map(([line, item]) => {
    const prescribed = typeof item.quantity === 'number' ? item.quantity : undefined
    const given = dispensed[line] ?? 0
    return {
      line,
      itemId: item.itemId === undefined ? undefined : str(item.itemId),
      drug: str(item.drug),
      prescribed,
      dispensed: given,
      remaining: prescribed === undefined ? undefined : Math.max(0, prescribed - given),
    }
  })
}
