import type {
  DispenseRequest,
  FlagsReply,
  FormularyRequest,
  ReceiptRequest,
  StockReply,
} from '@clinic-mesh/contracts'
import type { Operation, PrescriptionStatusState, Session } from '@clinic-mesh/ledger'
import type { DeviceLedger } from './device-ledger.js'
import type { RunSigner } from './run-signer.js'
import { flaggedOf } from './flagged-ops.js'

/** Who records a stock operation, with the keys that sign it (the relay turns unsigned ones into conflicts). */
export type StockActor = Omit<Session, 'site'> & { signer?: RunSigner }

/** Stock endpoints: goods received (GRN) and dispenses as ledger operations; settled + tentative stock. */
export class StockApi {
  readonly #ledger: DeviceLedger

  constructor(ledger: DeviceLedger) {
    this.#ledger = ledger
  }

  /** A request parsed with the contract's `ReceiptRequestSchema`: its fields are the `receive` operation's. */
  async receive(
    request: ReceiptRequest,
    session: StockActor,
  ): Promise<{ operation: Operation; duplicate: boolean }> {
    const { id, ...body } = request
    const { op: operation, duplicate } = await this.#ledger.append(
      id,
      { kind: 'receive', ...body },
      { user: session.user, role: session.role },
      session.signer,
    )
    return { operation, duplicate }
  }

  /**
   * A request parsed with the contract's `DispenseRequestSchema`: its fields are the `dispense` operation's, except
   * `prescribed`, which only the node writes (`prescribed`: from the signed prescription it verified, see dispense-check).
   */
  async dispense(
    request: DispenseRequest,
    session: StockActor,
    prescribed?: number,
  ): Promise<{ operation: Operation; duplicate: boolean }> {
    const { id, prescribed: _fromClient, line, ...rest } = request
    const body = {
      ...rest,
      ...(line !== undefined ? { line } : {}),
      ...(line !== undefined && prescribed !== undefined ? { prescribed } : {}),
    }
    const { op: operation, duplicate } = await this.#ledger.append(
      id,
      { kind: 'dispense', ...body },
      { user: session.user, role: session.role },
      session.signer,
    )
    return { operation, duplicate }
  }

  /**
   * A formulary entry (name, price in minor units, status) as a `formulary-update` operation (the router lets only an
   * admin call this); the relay settles it only from the authority role, anything else becomes an `unauthorized` conflict.
   */
  async formulary(
    request: FormularyRequest,
    session: StockActor,
  ): Promise<{ operation: Operation; duplicate: boolean }> {
    const { id, ...body } = request
    const { op: operation, duplicate } = await this.#ledger.append(
      id,
      { kind: 'formulary-update', ...body },
      { user: session.user, role: session.role },
      session.signer,
    )
    return { operation, duplicate }
  }

  /** The formulary item of lot `batch` as this node knows it (settled or received here, not settled yet). */
  async lotItem(batch: string): Promise<string | undefined> {
    return (await this.#ledger.stock()).lines.find((l) => l.batch === batch)?.item
  }

  /** The central status of a prescription (relay-signed; undefined: never changed centrally). */
  prescriptionStatus(id: string): Promise<PrescriptionStatusState | undefined> {
    return this.#ledger.prescriptionStatus(id)
  }

  /** This tablet's operations the central office flagged, newest first, with the decision once made. */
  async flags(): Promise<FlagsReply> {
    const { verified, entries } = await this.#ledger.conflictEntries()
    return { verified, flags: flaggedOf(entries, this.#ledger.device) }
  }

  async stock(): Promise<StockReply> {
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
      warnings: [...view.warnings],
    }
  }
}
