import { newId } from '@clinic-mesh/contracts'
import { InvalidRecordError } from './errors.js'
import { encounterOf } from './encounter.js'
import { prescriptionOf } from './prescription.js'
import type { Actor, Chart } from './types.js'
import { optionalText } from './validate.js'
import { imm, stamp } from './values.js'
import { verifyPrescription } from './verify.js'

/**
 * The pharmacy section's record that a prescription was handed out: references the verified signed version
 * by hash. Refuses a prescription that does not verify (`InvalidRecordError` carrying the reason).
 */
export function recordDispenseNote(
  chart: Chart,
  encounterId: string,
  rxId: string,
  actor: Actor,
  note?: string,
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
  const id = newId('dsp')
  enc.pharmacy.dispensed[id] = { prescriptionId: rx.id, prescriptionHash: imm(check.hash), by, at }
  if (text !== undefined) enc.pharmacy.note = imm(text)
  enc.pharmacy.by = by
  enc.pharmacy.at = at
  return id
}
