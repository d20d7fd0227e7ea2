import type { BatchId, LocationId, PrescriptionId } from '@clinic-mesh/contracts'
import type { ConflictDraft } from './conflict.js'
import type { Operation, OperationOf } from './operation.js'
import { allocateFefo, isExpired } from './fefo.js'
import type { StockBook } from './stock-book.js'

/** A prescription's central status (a `prescription-status` operation the relay settled). */
export interface PrescriptionState {
  readonly hash: string
  readonly status: 'active' | 'on-hold' | 'superseded' | 'cancelled'
  /** why it was changed, and when (device time of the operation, ISO); absent on older states */
  readonly reason?: string
  readonly at?: string
}

/** The state a settled `prescription-status` operation gives its prescription. */
export function prescriptionStateOf(op: OperationOf<'prescription-status'>): PrescriptionState {
  return {
    hash: op.signedHash,
    status: op.status,
    ...(op.reason !== undefined ? { reason: op.reason } : {}),
    at: new Date(op.hlc.wall).toISOString(),
  }
}

export interface TransferRecord {
  readonly batch: BatchId
  readonly from: LocationId
  readonly to: LocationId
  readonly quantity: number
  received: number
}

export interface LedgerOptions {
  /** Current signed version of a prescription; `undefined` = not known here (falls back to prescription-status ops). */
  readonly prescriptionLookup: ((id: PrescriptionId) => PrescriptionState | undefined) | null
  /** Who may issue formulary/price and prescription-status updates (default: role `admin`). */
  readonly isAuthority: (op: Operation) => boolean
  /**
   * Why an operation is not to be trusted (bad or missing signature, revoked device), or null. Such an operation is
   * never applied: it becomes an `unauthorized` conflict for a reviewer, with the reason as detail.
   */
  readonly distrust: ((op: Operation) => string | null) | null
}

export interface LedgerContext {
  readonly book: StockBook
  readonly transfers: Map<string, TransferRecord>
  readonly prescriptions: Map<string, PrescriptionState>
  /** Units settled per prescription line (`prescriptionLineKey`), across every device of the clinic. */
  readonly dispensed: Map<string, number>
  readonly options: LedgerOptions
}

/** The operation must wait (transfer-in before its transfer-out has settled). */
export const WAIT = 'wait'
export type Outcome = null | ConflictDraft | typeof WAIT

function conflict(
  kind: ConflictDraft['kind'],
  detail: string,
  seen: ConflictDraft['seen'],
  authority: ConflictDraft['authority'],
): ConflictDraft {
  return { kind, detail, seen, authority }
}

function dispense(ctx: LedgerContext, op: OperationOf<'dispense'>): Outcome {
  const { book } = ctx
  const seen = {
    batch: op.batch,
    price: op.priceSeen,
    stock: op.stockSeen,
    prescriptionHash: op.prescriptionHash,
  }
  const version = book.versionAt(op.item, op.hlc)
  if (!version) return conflict('unknown-item', `item ${op.item} is not in the formulary`, seen, {})
  const info = op.batch === null ? undefined : book.batches.get(op.batch)
  if (op.batch !== null && (!info || info.item !== op.item)) {
    return conflict('unknown-batch', `batch ${op.batch} is not a received lot of ${op.item}`, seen, {})
  }
  const rx = ctx.options.prescriptionLookup?.(op.prescription) ?? ctx.prescriptions.get(op.prescription)
  if (rx && (rx.hash !== op.prescriptionHash || rx.status !== 'active')) {
    const detail =
      rx.status !== 'active'
        ? `prescription ${op.prescription} was ${rx.status === 'on-hold' ? 'put on hold' : rx.status} centrally${rx.reason ? `: ${rx.reason}` : ''}`
        : `prescription ${op.prescription} has another signed version centrally`
    return conflict('prescription-changed', detail, seen, {
      prescriptionHash: rx.hash,
      prescriptionStatus: rx.status,
      ...(rx.reason !== undefined ? { prescriptionReason: rx.reason } : {}),
    })
  }
  if (version.status === 'withdrawn') {
    return conflict('formulary-changed', `item ${op.item} was withdrawn from the formulary`, seen, {
      formularyStatus: 'withdrawn',
    })
  }
  const over = overDispensed(ctx, op, seen)
  if (over) return over
  const wall = op.hlc.wall
  if (info) {
    const cell = book.cell(op.site, op.batch!)
    const qty = cell ? cell.qty : 0
    if (isExpired(info.expiry, wall))
      return conflict('batch-expired', `batch ${op.batch} expired ${info.expiry}`, seen, {
        expiry: info.expiry,
        stock: qty,
      })
    if (qty < op.quantity)
      return conflict(
        'insufficient-stock',
        `batch ${op.batch} holds ${qty}, ${op.quantity} dispensed`,
        seen,
        { stock: qty },
      )
    if (op.priceSeen !== version.price)
      return conflict('price-changed', 'price changed while offline', seen, { price: version.price })
    book.move(op.site, op.batch!, -op.quantity, op.id, 'dispense')
    countDispensed(ctx, op, op.quantity)
    return null
  }
  const { picks, short } = allocateFefo(book.lots(op.site, op.item), op.quantity, wall)
  if (short > 0) {
    const stock = op.quantity - short // short: every usable lot was drawn in full
    return conflict(
      'insufficient-stock',
      `${op.item} has ${stock} unexpired at ${op.site}, ${op.quantity} dispensed`,
      seen,
      { stock },
    )
  }
  if (op.priceSeen !== version.price)
    return conflict('price-changed', 'price changed while offline', seen, { price: version.price })
  for (const p of picks) book.move(op.site, p.lot.batch, -p.quantity, op.id, 'dispense')
  countDispensed(ctx, op, op.quantity)
  return null
}

/** The key of a prescription line in `LedgerContext.dispensed`. */
export function prescriptionLineKey(prescription: string, line: string): string {
  return `${prescription}/${line}`
}

/** Adds settled units to the dispense's prescription line (a dispense without a line counts against none). */
export function countDispensed(ctx: LedgerContext, op: OperationOf<'dispense'>, quantity: number): void {
  if (op.line === undefined) return
  const key = prescriptionLineKey(op.prescription, op.line)
  ctx.dispensed.set(key, (ctx.dispensed.get(key) ?? 0) + quantity)
}

/**
 * `over-dispensed`: with what the clinic's devices already settled against this prescription line, the dispense would
 * hand out more than the line prescribes (two tablets dispensing one prescription offline, or a typo: 35 for 15).
 */
function overDispensed(
  ctx: LedgerContext,
  op: OperationOf<'dispense'>,
  seen: ConflictDraft['seen'],
): ConflictDraft | null {
  if (op.line === undefined || op.prescribed === undefined) return null
  const given = ctx.dispensed.get(prescriptionLineKey(op.prescription, op.line)) ?? 0
  if (given + op.quantity <= op.prescribed) return null
  return conflict(
    'over-dispensed',
    `line ${op.line} of prescription ${op.prescription} prescribes ${op.prescribed}; ${given} already dispensed, ${op.quantity} more`,
    seen,
    { prescribed: op.prescribed, dispensed: given },
  )
}

function lotOf(
  ctx: LedgerContext,
  op: { item: string; batch: BatchId },
  seen: ConflictDraft['seen'],
): ConflictDraft | null {
  const info = ctx.book.batches.get(op.batch)
  if (!info || info.item !== op.item)
    return conflict('unknown-batch', `batch ${op.batch} is not a received lot of ${op.item}`, seen, {})
  return null
}

/** Settle one operation against the authoritative state: apply it (null), flag a conflict, or ask it to wait. */
export function applyOperation(ctx: LedgerContext, op: Operation): Outcome {
  const { book } = ctx
  const distrusted = ctx.options.distrust?.(op) ?? null
  if (distrusted !== null) return conflict('unauthorized', distrusted, {}, {})
  switch (op.kind) {
    case 'dispense':
      return dispense(ctx, op)
    case 'receive': {
      if (!book.versionAt(op.item, op.hlc))
        return conflict('unknown-item', `item ${op.item} is not in the formulary`, { batch: op.batch }, {})
      const info = book.batches.get(op.batch)
      if (info && (info.item !== op.item || info.expiry !== op.expiry)) {
        return conflict(
          'batch-mismatch',
          `batch ${op.batch} was received as ${info.item} expiring ${info.expiry}`,
          { batch: op.batch },
          { expiry: info.expiry },
        )
      }
      if (!info)
        book.addBatch(op.batch, {
          item: op.item,
          expiry: op.expiry,
          unitCost: op.unitCost,
          supplier: op.supplier,
        })
      book.move(op.site, op.batch, op.quantity, op.id, 'receive')
      return null
    }
    case 'return': {
      const bad = lotOf(ctx, op, { batch: op.batch })
      if (bad) return bad
      book.move(op.site, op.batch, op.quantity, op.id, 'return')
      return null
    }
    case 'transfer-out': {
      const bad = lotOf(ctx, op, { batch: op.batch })
      if (bad) return bad
      const qty = book.qty(op.site, op.batch)
      if (qty < op.quantity)
        return conflict(
          'insufficient-stock',
          `batch ${op.batch} holds ${qty}, ${op.quantity} sent`,
          { batch: op.batch },
          { stock: qty },
        )
      if (ctx.transfers.has(op.transfer))
        return conflict(
          'transfer-unmatched',
          `transfer ${op.transfer} was already sent`,
          { batch: op.batch },
          {},
        )
      book.move(op.site, op.batch, -op.quantity, op.id, 'transfer-out')
      ctx.transfers.set(op.transfer, {
        batch: op.batch,
        from: op.site,
        to: op.to,
        quantity: op.quantity,
        received: 0,
      })
      return null
    }
    case 'transfer-in': {
      const t = ctx.transfers.get(op.transfer)
      if (!t) return WAIT
      if (t.batch !== op.batch || t.to !== op.site || t.received + op.quantity > t.quantity) {
        return conflict(
          'transfer-unmatched',
          `transfer ${op.transfer} does not match what was sent`,
          { batch: op.batch },
          { stock: t.quantity - t.received },
        )
      }
      t.received += op.quantity
      book.move(op.site, op.batch, op.quantity, op.id, 'transfer-in')
      return null
    }
    case 'count': {
      const seen = { batch: op.batch, counted: op.counted, stock: op.stockSeen }
      const bad = lotOf(ctx, op, seen)
      if (bad) return bad
      const qty = book.qty(op.site, op.batch)
      if (qty === op.counted) return null
      const controlled = book.current(op.item)?.controlled === true
      return conflict(
        controlled ? 'controlled-count-discrepancy' : 'count-discrepancy',
        `counted ${op.counted}, settled ${qty}`,
        seen,
        { stock: qty },
      )
    }
    case 'adjustment-request': {
      const seen = { batch: op.batch }
      const bad = lotOf(ctx, op, seen)
      if (bad) return bad
      // an approval settles the request only when signed by a supervisor other than the requester: the relay
      // verifies the signature against the register first (an approval that fails is `unauthorized` before this)
      const a = op.approval
      if (!a || a.role !== 'supervisor' || a.user === op.user || a.signature === undefined) {
        const why = !a
          ? 'inventory adjustment needs a supervisor'
          : a.signature === undefined
            ? `the approval by ${a.user} is not signed: it needs a supervisor`
            : 'inventory adjustment needs a supervisor other than the requester'
        return conflict('adjustment-approval', why, seen, { stock: book.qty(op.site, op.batch) })
      }
      const qty = book.qty(op.site, op.batch)
      if (qty + op.delta < 0)
        return conflict('insufficient-stock', `batch ${op.batch} holds ${qty}`, seen, { stock: qty })
      book.move(op.site, op.batch, op.delta, op.id, 'adjustment')
      return null
    }
    case 'formulary-update': {
      if (!ctx.options.isAuthority(op))
        return conflict('unauthorized', `${op.role} may not change the formulary`, {}, {})
      book.addVersion(op.item, {
        at: op.hlc,
        name: op.name,
        price: op.price,
        status: op.status,
        controlled: op.controlled,
      })
      return null
    }
    case 'prescription-status': {
      if (!ctx.options.isAuthority(op))
        return conflict('unauthorized', `${op.role} on ${op.device} may not change a prescription`, {}, {})
      ctx.prescriptions.set(op.prescription, prescriptionStateOf(op))
      return null
    }
    case 'resolution':
      throw new Error('resolutions are applied by the engine')
  }
}
