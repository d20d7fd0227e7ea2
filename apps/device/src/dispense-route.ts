import type { DeviceId, DispenseRequest } from '@clinic-mesh/contracts'
import type { Operation } from '@clinic-mesh/ledger'
import { checkDispense } from './dispense-check.js'
import { PrescriptionNotActiveError } from './errors.js'
import type { NodeHost } from './node-host.js'
import { ready } from './route-context.js'
import type { StockActor } from './stock-api.js'

/**
 * `POST /api/stock/dispenses` after the session checks: the node checks the dispense against the signed prescription it
 * holds (dispense-check: verified, the version seen, the line's item and lot), records the operation with the line's
 * prescribed quantity, then writes what was handed out into the visit's pharmacy section (a retry writes nothing twice).
 */
export async function dispense(
  node: Pick<NodeHost, 'records' | 'stock' | 'config'>,
  request: DispenseRequest,
  session: StockActor,
): Promise<{ operation: Operation; duplicate: boolean }> {
  const records = ready(node.records)
  const stock = ready(node.stock)
  const checked = await checkDispense(request, { records, lotItem: (b) => stock.lotItem(b) })
  // the central office's status (relay-signed, seed 000): a held, cancelled or superseded prescription is not dispensed
  const central = await stock.prescriptionStatus(request.prescription)
  if (central && central.status !== 'active') {
    const what = central.status === 'on-hold' ? 'on hold' : central.status
    throw new PrescriptionNotActiveError(
      central.status,
      `the central office put this prescription ${what}${central.reason ? ` (${central.reason})` : ''}: nothing dispensed`,
    )
  }
  const r = await stock.dispense(request, session, checked.prescribed)
  if (!r.duplicate && checked.encounterId !== undefined && request.line !== undefined) {
    await records.recordDispensed(
      request.patient,
      checked.encounterId,
      request.prescription,
      { line: request.line, quantity: request.quantity, batch: request.batch, op: request.id },
      { user: session.user, device: node.config.deviceId as DeviceId },
    )
  }
  return r
}
