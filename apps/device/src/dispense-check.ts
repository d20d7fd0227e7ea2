import type { DispenseRequest } from '@clinic-mesh/contracts'
import { PrescriptionChangedError, UnknownRecordError, str, verifyPrescription } from '@clinic-mesh/records'
import { LotNotPrescribedError, PrescriptionVerificationError } from './errors.js'
import type { RecordsApi } from './records-api.js'

/** What the node learnt from the signed prescription a dispense is made against. */
export interface CheckedDispense {
  /** the visit the prescription belongs to (its pharmacy section records the dispense) */
  readonly encounterId?: string
  /** units the line prescribes: written into the operation, the relay counts the line's dispenses against it */
  readonly prescribed?: number
}

/** Where the check looks: the node's chart copy and the item of a lot it knows of. */
export interface DispenseCheckHost {
  readonly records: Pick<RecordsApi, 'prescription'>
  /** the formulary item of lot `batch`, if this node knows the lot */
  lotItem(batch: string): Promise<string | undefined>
}

/**
 * The node's checks before it records a dispense (issue 15 item 3), in order:
 * - the signed prescription this node holds verifies (`verifyPrescription`): else `PrescriptionVerificationError`,
 *   named with the reason (a tampered prescription blocks the dispense);
 * - it is the version the pharmacist saw (`prescriptionHash`): else `PrescriptionChangedError`;
 * - with a `line`: the line exists (`UnknownRecordError`), the dispensed item is the line's formulary item and the
 *   lot is a lot of that item (`LotNotPrescribedError`).
 * A dispense without a line whose prescription is not on this node (recorded by a client from before issue 15) is
 * left to the relay as before; with a line, the prescription must be here.
 */
export async function checkDispense(req: DispenseRequest, host: DispenseCheckHost): Promise<CheckedDispense> {
  const rx = await host.records.prescription(req.patient, req.prescription)
  if (!rx) {
    if (req.line === undefined) return {}
    throw new UnknownRecordError(
      `prescription ${req.prescription} of patient ${req.patient} is not on this device: nothing dispensed`,
    )
  }
  const check = verifyPrescription(rx)
  if (!check.ok)
    throw new PrescriptionVerificationError(
      check.reason,
      `the prescription does not verify (${check.reason}: ${check.detail}); nothing dispensed — ask the prescriber to write and sign it again`,
    )
  if (check.hash !== req.prescriptionHash)
    throw new PrescriptionChangedError(
      'the signed prescription on this device is not the version dispensed against; open it again',
    )
  const encounterId = rx.encounterId === undefined ? undefined : str(rx.encounterId)
  const visit = encounterId === undefined ? {} : { encounterId }
  if (req.line === undefined) return visit
  const item = rx.items[req.line]
  if (!item) throw new UnknownRecordError(`prescription ${req.prescription} has no line ${req.line}`)
  const prescribedItem = item.itemId === undefined ? undefined : str(item.itemId)
  if (prescribedItem === undefined)
    throw new LotNotPrescribedError(
      `line ${req.line} (${str(item.drug)}) names no formulary item: dispense it without a line`,
    )
  if (req.item !== prescribedItem)
    throw new LotNotPrescribedError(
      `the line prescribes ${str(item.drug)} (${prescribedItem}); ${req.item} was chosen: nothing dispensed`,
    )
  if (req.batch !== null) {
    const lotItem = await host.lotItem(req.batch)
    if (lotItem !== undefined && lotItem !== prescribedItem)
      throw new LotNotPrescribedError(
        `lot ${req.batch} is ${lotItem}, the line prescribes ${str(item.drug)} (${prescribedItem}): nothing dispensed`,
      )
  }
  return typeof item.quantity === 'number' ? { ...visit, prescribed: item.quantity } : visit
}
