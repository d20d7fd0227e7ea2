import type { Role } from '@clinic-mesh/contracts'
import type { LedgerContext } from './apply-op.js'
import { applyOperation, countDispensed, prescriptionStateOf } from './apply-op.js'
import { isDecisionApplicable } from './decisions.js'
import { allocateFefo, isExpired } from './fefo.js'
import type { Conflict } from './conflict.js'
import { ResolutionApprovalError, ResolutionNotApplicableError } from './errors.js'
import type { Decision, OperationOf } from './operation.js'
import type { Move } from './stock-book.js'

/** Roles that may decide a conflict at all. */
export const RESOLVER_ROLES: readonly Role[] = ['pharmacist', 'reviewer', 'supervisor']

export type ApprovalNeed = 'none' | 'supervisor' | 'second-supervisor'

/**
 * Which sign-off a decision needs: critical conflicts (controlled drugs, controlled counts) and write-offs worth more
 * than `threshold` (minor units) need a second person with the supervisor role; an adjustment of the books (an
 * adjustment request, or a count that differs, accepted) needs a supervisor.
 */
export function approvalNeeded(
  conflict: Conflict,
  decision: Decision,
  writeOffValue: number,
  threshold: number,
): ApprovalNeed {
  if (decision.action === 'cancel' && conflict.kind === 'adjustment-approval') return 'none'
  if (conflict.critical || writeOffValue > threshold) return 'second-supervisor'
  if (conflict.kind === 'adjustment-approval') return 'supervisor'
  const books = conflict.op.kind === 'adjustment-request' || conflict.op.kind === 'count'
  if (decision.action === 'accept' && books) return 'supervisor'
  return 'none'
}

/**
 * Throws `ResolutionApprovalError` unless the resolution carries the approval its conflict needs. A supervisor who
 * approves must not be the person who recorded the operation (four eyes: nobody approves their own count or request).
 */
export function checkApproval(
  conflict: Conflict,
  res: OperationOf<'resolution'>,
  writeOffValue: number,
  threshold: number,
): void {
  if (!RESOLVER_ROLES.includes(res.role))
    throw new ResolutionApprovalError(`role ${res.role} may not resolve conflicts`)
  const need = approvalNeeded(conflict, res.decision, writeOffValue, threshold)
  const a = res.approval
  const requester = conflict.op.user
  const supervisor = (who: { user: string; role: string } | null): boolean =>
    who !== null && who.role === 'supervisor' && who.user !== requester
  if (need === 'supervisor' && !supervisor(res) && !supervisor(a)) {
    throw new ResolutionApprovalError(
      `${conflict.kind} needs a supervisor (other than ${requester}, who recorded it)`,
    )
  }
  if (need === 'second-supervisor' && (!a || !supervisor(a) || a.user === res.user)) {
    throw new ResolutionApprovalError(
      `${conflict.id} is critical: a second approver with the supervisor role is required`,
    )
  }
}

export interface Plan {
  readonly moves: Move[]
  /** Stock removed beyond the operation's own effect (write-offs), valued at unit cost. */
  readonly writeOffValue: number
  /** Applies the decision (moves are checked and applied by the caller first). */
  readonly commit: ((ctx: LedgerContext) => void) | null
}

function notApplicable(conflict: Conflict, decision: Decision): never {
  throw new ResolutionNotApplicableError(
    `${decision.action} does not apply to a ${conflict.kind} on a ${conflict.op.kind}`,
  )
}

function unitCost(ctx: LedgerContext, batch: string): number {
  return ctx.book.batches.get(batch)?.unitCost ?? 0
}

/**
 * Stock moves a decision implies; throws `ResolutionNotApplicableError` when it makes no sense for the conflict. A
 * dispense that a decision lets through (switched lot, partial, accepted) counts against its prescription line.
 */
export function planDecision(ctx: LedgerContext, conflict: Conflict, decision: Decision): Plan {
  if (!isDecisionApplicable(conflict.kind, conflict.op.kind, decision.action))
    notApplicable(conflict, decision)
  const plan = planMoves(ctx, conflict, decision)
  const op = conflict.op
  if (op.kind !== 'dispense' || conflict.kind === 'chain-gap') return plan
  const units =
    decision.action === 'partial-dispense'
      ? decision.quantity
      : decision.action === 'switch-lot' || decision.action === 'accept'
        ? op.quantity
        : 0
  if (units === 0) return plan
  return {
    ...plan,
    commit: (c) => {
      plan.commit?.(c)
      countDispensed(c, op, units)
    },
  }
}

function planMoves(ctx: LedgerContext, conflict: Conflict, decision: Decision): Plan {
  const op = conflict.op
  const site = op.site
  switch (decision.action) {
    case 'cancel':
      return { moves: [], writeOffValue: 0, commit: null }
    case 'write-off':
      return {
        moves: [{ site, batch: decision.batch, delta: -decision.quantity }],
        writeOffValue: decision.quantity * unitCost(ctx, decision.batch),
        commit: null,
      }
    case 'switch-lot': {
      if (op.kind !== 'dispense') notApplicable(conflict, decision)
      const info = ctx.book.batches.get(decision.batch)
      if (!info || info.item !== op.item || isExpired(info.expiry, op.hlc.wall)) {
        throw new ResolutionNotApplicableError(`batch ${decision.batch} is not a usable lot of ${op.item}`)
      }
      return { moves: [{ site, batch: decision.batch, delta: -op.quantity }], writeOffValue: 0, commit: null }
    }
    case 'partial-dispense': {
      if (op.kind !== 'dispense' || decision.quantity > op.quantity) notApplicable(conflict, decision)
      if (op.batch !== null)
        return {
          moves: [{ site, batch: op.batch, delta: -decision.quantity }],
          writeOffValue: 0,
          commit: null,
        }
      const { picks, short } = allocateFefo(ctx.book.lots(site, op.item), decision.quantity, op.hlc.wall)
      if (short > 0)
        throw new ResolutionNotApplicableError(`not enough unexpired ${op.item} for ${decision.quantity}`)
      return {
        moves: picks.map((p) => ({ site, batch: p.lot.batch, delta: -p.quantity })),
        writeOffValue: 0,
        commit: null,
      }
    }
    case 'accept':
      return planAccept(ctx, conflict, decision)
  }
}

function planAccept(
  ctx: LedgerContext,
  conflict: Conflict,
  decision: Extract<Decision, { action: 'accept' }>,
): Plan {
  const op = conflict.op
  const site = op.site
  const adj = decision.adjustment
  const moves: Move[] = adj ? [{ site, batch: adj.batch, delta: adj.delta }] : []
  let writeOffValue = adj && adj.delta < 0 ? -adj.delta * unitCost(ctx, adj.batch) : 0
  if (conflict.kind === 'chain-gap') {
    if (adj) notApplicable(conflict, decision)
    return {
      moves,
      writeOffValue,
      commit: (c) => {
        const outcome = applyOperation(c, op)
        if (outcome !== null)
          throw new ResolutionNotApplicableError(`${op.id} still cannot settle; choose another decision`)
      },
    }
  }
  switch (op.kind) {
    case 'dispense': {
      if (op.batch !== null)
        return {
          moves: [...moves, { site, batch: op.batch, delta: -op.quantity }],
          writeOffValue,
          commit: null,
        }
      // an accepted override may draw on expired lots too (FEFO order still)
      const { picks, short } = allocateFefo(
        ctx.book.lots(site, op.item),
        op.quantity,
        Number.NEGATIVE_INFINITY,
      )
      if (short > 0) throw new ResolutionNotApplicableError(`not enough ${op.item} to accept ${op.id}`)
      return {
        moves: [...moves, ...picks.map((p) => ({ site, batch: p.lot.batch, delta: -p.quantity }))],
        writeOffValue,
        commit: null,
      }
    }
    case 'count': {
      // what the count found missing (or over) at the time it was made: later settled movements stay booked
      const before = conflict.authority.stock ?? ctx.book.qty(site, op.batch)
      const delta = op.counted - before
      if (delta < 0) writeOffValue += -delta * unitCost(ctx, op.batch)
      return { moves: [...moves, { site, batch: op.batch, delta }], writeOffValue, commit: null }
    }
    case 'adjustment-request':
      if (op.delta < 0) writeOffValue += -op.delta * unitCost(ctx, op.batch)
      return { moves: [...moves, { site, batch: op.batch, delta: op.delta }], writeOffValue, commit: null }
    case 'return':
    case 'transfer-in':
      return { moves: [...moves, { site, batch: op.batch, delta: op.quantity }], writeOffValue, commit: null }
    case 'transfer-out':
      return {
        moves: [...moves, { site, batch: op.batch, delta: -op.quantity }],
        writeOffValue,
        commit: (c) => {
          if (!c.transfers.has(op.transfer))
            c.transfers.set(op.transfer, {
              batch: op.batch,
              from: site,
              to: op.to,
              quantity: op.quantity,
              received: 0,
            })
        },
      }
    case 'formulary-update':
      return {
        moves,
        writeOffValue,
        commit: (c) =>
          c.book.addVersion(op.item, {
            at: op.hlc,
            name: op.name,
            price: op.price,
            status: op.status,
            controlled: op.controlled,
          }),
      }
    case 'prescription-status':
      return {
        moves,
        writeOffValue,
        commit: (c) => void c.prescriptions.set(op.prescription, prescriptionStateOf(op)),
      }
    default:
      return notApplicable(conflict, decision)
  }
}
