import { InvalidInputError, type BatchId, type ItemId, type OperationId, type PatientId, type PrescriptionId } from '@clinic-mesh/contracts'
import type { Operation, OperationBody, Session } from '@clinic-mesh/ledger'
import type { DeviceLedger } from './device-ledger.js'
import { field } from './http-util.js'
import type { RunSigner } from './run-signer.js'

/** Who records a stock operation, with the keys that sign it (the relay turns unsigned ones into conflicts). */
export type StockActor = Omit<Session, 'site'> & { signer?: RunSigner }

type Body = Record<string, unknown>

function opId(body: Body): OperationId {
  const id = body.id
  if (id === undefined) throw new InvalidInputError('id (the idempotency key) is required')
  if (typeof id !== 'string' || !/^[A-Za-z0-9_.:-]{1,100}$/.test(id)) throw new InvalidInputError('id must be 1-100 characters of [A-Za-z0-9_.:-]')
  return id as OperationId
}

function expiry(body: Body): string {
  const v = field.string(body, 'expiry')
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(v))) throw new InvalidInputError('expiry must be a date YYYY-MM-DD')
  return v
}

/** Stock endpoints: goods received (GRN) and dispenses as ledger operations; settled + tentative stock. */
export class StockApi {
  readonly #ledger: DeviceLedger

  constructor(ledger: DeviceLedger) {
    this.#ledger = ledger
  }

  async receive(body: Body, session: StockActor): Promise<{ operation: Operation; duplicate: boolean }> {
    const op: OperationBody = {
      kind: 'receive',
      item: field.string(body, 'item') as ItemId,
      batch: field.string(body, 'batch') as BatchId,
      expiry: expiry(body),
      quantity: field.int(body, 'quantity', 1),
      unitCost: field.int(body, 'unitCost'),
      supplier: field.string(body, 'supplier'),
      grn: field.string(body, 'grn'),
    }
    const { op: operation, duplicate } = await this.#ledger.append(opId(body), op, { user: session.user, role: session.role }, session.signer)
    return { operation, duplicate }
  }

  async dispense(body: Body, session: StockActor): Promise<{ operation: Operation; duplicate: boolean }> {
    const batch = body.batch === null ? null : (field.string(body, 'batch') as BatchId)
    const op: OperationBody = {
      kind: 'dispense',
      item: field.string(body, 'item') as ItemId,
      batch,
      quantity: field.int(body, 'quantity', 1),
      patient: field.string(body, 'patient') as PatientId,
      prescription: field.string(body, 'prescription') as PrescriptionId,
      prescriptionHash: field.string(body, 'prescriptionHash'),
      priceSeen: field.int(body, 'priceSeen'),
      stockSeen: field.int(body, 'stockSeen', Number.MIN_SAFE_INTEGER),
    }
    const { op: operation, duplicate } = await this.#ledger.append(opId(body), op, { user: session.user, role: session.role }, session.signer)
    return { operation, duplicate }
  }

  /**
   * A formulary entry (name, price in minor units, status) as a `formulary-update` operation (the router lets only an
   * admin call this); the relay settles it only from the authority role, anything else becomes an `unauthorized` conflict.
   */
  async formulary(body: Body, session: StockActor): Promise<{ operation: Operation; duplicate: boolean }> {
    const status = field.optString(body, 'status') ?? 'active'
    if (status !== 'active' && status !== 'withdrawn') throw new InvalidInputError('status must be active or withdrawn')
    const op: OperationBody = {
      kind: 'formulary-update',
      item: field.string(body, 'item') as ItemId,
      name: field.string(body, 'name'),
      price: field.int(body, 'price'),
      status,
      controlled: field.bool(body, 'controlled') ?? false,
    }
    const { op: operation, duplicate } = await this.#ledger.append(opId(body), op, { user: session.user, role: session.role }, session.signer)
    return { operation, duplicate }
  }

  async stock(): Promise<unknown> {
    const view = await this.#ledger.stock()
    return {
      site: view.site,
      settledAt: view.settledAt,
      // the settled figures and settledAt come from a settled inventory signed by the relay this device pinned
      settledVerified: view.settledVerified,
      settledVersion: view.settledVersion,
      settledRejected: view.settledRejected,
      unsettledOps: view.unsettledOps,
      lines: view.lines.map((l) => ({ ...l, itemName: view.items[l.item]?.name ?? null })),
      items: view.items,
      prices: view.prices,
      warnings: view.warnings,
    }
  }
}
