import { REGISTER_KINDS, type RegisterKind } from '@clinic-mesh/contracts'
import { compareHlc } from './hlc.js'
import type { Operation } from './operation.js'

/** The register's kinds (the operations that move or count stock of an item), defined with its reply's schema. */
export { REGISTER_KINDS, type RegisterKind }

/** What the relay's conflict queue says about one operation (parsed from its signed entry). */
export interface RegisterConflict {
  readonly id: string
  readonly kind: string
  readonly detail: string
  readonly critical: boolean
  readonly status: 'open' | 'resolved'
  /** the decision once resolved: action, its quantity or adjustment, and who decided */
  readonly decision: {
    readonly action: string
    readonly quantity?: number
    readonly adjustment?: { readonly delta: number } | null
    readonly by: string
    readonly approvedBy: string | null
  } | null
  /** the settled stock the relay compared a count with (authority.stock) */
  readonly authorityStock: number | null
}

export interface RegisterLine {
  readonly op: string
  readonly kind: RegisterKind
  readonly at: string
  readonly device: string
  readonly user: string
  readonly batch: string | null
  /** units in (+) or out (−) as far as known */
  readonly change: number
  readonly counted: number | null
  readonly stockSeen: number | null
  readonly delta: number | null
  readonly reason: string | null
  readonly approvedBy: string | null
  readonly status: 'settled' | 'tentative' | 'conflict' | 'resolved'
  readonly conflict: { id: string; kind: string; detail: string; critical: boolean } | null
  readonly decision: { action: string; by: string; approvedBy: string | null } | null
  /** running balance of the item at the site after this line */
  readonly balance: number
}

type Moving = Extract<Operation, { kind: RegisterKind }>

function isRegisterOp(op: Operation): op is Moving {
  return (REGISTER_KINDS as readonly string[]).includes(op.kind)
}

/** The units an operation moves when the relay applies it as recorded (counts and unapproved requests: none). */
function recorded(op: Moving): number {
  switch (op.kind) {
    case 'receive':
    case 'return':
    case 'transfer-in':
      return op.quantity
    case 'dispense':
    case 'transfer-out':
      return -op.quantity
    case 'adjustment-request':
      return op.delta
    case 'count':
      return 0
  }
}

/** The units a reviewer's decision left moved (the ledger's `planDecision`, as far as the queue tells). */
function decided(op: Moving, c: RegisterConflict): number {
  const d = c.decision
  if (!d) return 0
  const extra = d.action === 'accept' ? (d.adjustment?.delta ?? 0) : 0
  switch (d.action) {
    case 'cancel':
      return 0
    case 'write-off':
      return -(d.quantity ?? 0)
    case 'partial-dispense':
      return -(d.quantity ?? 0)
    case 'switch-lot':
      return recorded(op)
    case 'accept':
      if (op.kind === 'count') return extra + (c.authorityStock === null ? 0 : op.counted - c.authorityStock)
      return extra + recorded(op)
    default:
      return 0
  }
}

/**
 * One item's register at one site (controlled drugs): every receipt, dispense, return, transfer, count and adjustment
 * request of every device log a node holds, oldest first (HLC, device, seq), each with what it moved as far as known —
 * settled as recorded, tentative (not decided yet: an adjustment request moves nothing until the relay settles it),
 * held in an open conflict (nothing), or as a reviewer's decision left it — and the running balance after it.
 */
export function stockRegister(
  item: string,
  site: string,
  ops: readonly { readonly op: Operation; readonly decided: boolean }[],
  conflicts: ReadonlyMap<string, RegisterConflict>,
): RegisterLine[] {
  const seen = new Set<string>()
  const mine = ops
    .map((o) => ({ ...o, op: o.op }))
    .filter((o): o is { op: Moving; decided: boolean } => {
      const op = o.op
      if (!isRegisterOp(op) || op.item !== item || op.site !== site || seen.has(op.id)) return false
      seen.add(op.id)
      return true
    })
  mine.sort(
    (a, b) =>
      compareHlc(a.op.hlc, b.op.hlc) ||
      (a.op.device < b.op.device ? -1 : a.op.device > b.op.device ? 1 : a.op.seq - b.op.seq),
  )
  let balance = 0
  return mine.map(({ op, decided: isDecided }) => {
    const c = conflicts.get(op.id)
    const status = c ? (c.status === 'open' ? 'conflict' : 'resolved') : isDecided ? 'settled' : 'tentative'
    const change =
      status === 'conflict'
        ? 0
        : status === 'resolved'
          ? decided(op, c!)
          : status === 'tentative' && op.kind === 'adjustment-request'
            ? 0
            : recorded(op)
    balance += change
    return {
      op: op.id,
      kind: op.kind,
      at: new Date(op.hlc.wall).toISOString(),
      device: op.device,
      user: op.user,
      batch: op.batch,
      change,
      counted: op.kind === 'count' ? op.counted : null,
      stockSeen: op.kind === 'count' || op.kind === 'dispense' ? op.stockSeen : null,
      delta: op.kind === 'adjustment-request' ? op.delta : null,
      reason: op.kind === 'adjustment-request' || op.kind === 'return' ? op.reason : null,
      approvedBy: op.kind === 'adjustment-request' ? (op.approval?.user ?? null) : null,
      status,
      conflict: c ? { id: c.id, kind: c.kind, detail: c.detail, critical: c.critical } : null,
      decision: c?.decision
        ? { action: c.decision.action, by: c.decision.by, approvedBy: c.decision.approvedBy }
        : null,
      balance,
    }
  })
}
