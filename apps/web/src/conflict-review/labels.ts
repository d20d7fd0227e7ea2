import { applicableDecisions } from '@clinic-mesh/ledger/decisions'
import type { Action, ConflictView } from './relay-api.js'

/** Plain words for the ledger's conflict kinds (packages/ledger CONFLICT_KINDS). Unknown kinds show as sent. */
export const KIND_LABELS: Record<string, string> = {
  'insufficient-stock': 'Not enough stock',
  'batch-expired': 'Lot expired',
  'unknown-item': 'Item not in formulary',
  'unknown-batch': 'Unknown lot',
  'batch-mismatch': 'Lot received twice, differently',
  'price-changed': 'Price changed',
  'formulary-changed': 'Withdrawn from formulary',
  'prescription-changed': 'Prescription changed',
  'over-dispensed': 'More than prescribed',
  'count-discrepancy': 'Stock count differs',
  'controlled-count-discrepancy': 'Controlled-drug count differs',
  'adjustment-approval': 'Adjustment needs approval',
  'transfer-unmatched': 'Transfer does not match',
  unauthorized: 'Not authorised (role or signature)',
  'chain-gap': 'Missing operations from device',
  'chain-fork': 'Device log forked',
  'idempotency-mismatch': 'Same id, different content',
}

export function kindLabel(kind: string): string {
  return KIND_LABELS[kind] ?? kind
}

/** Stable colours per kind for the chart (colour-blind-safe palette, cycled). */
const PALETTE = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#7a5c00', '#444444']

export function kindColour(kind: string, kinds: readonly string[]): string {
  const i = kinds.indexOf(kind)
  return PALETTE[(i < 0 ? 0 : i) % PALETTE.length]!
}

export const ACTION_LABELS: Record<Action, string> = {
  'partial-dispense': 'Partial dispense',
  'switch-lot': 'Switch lot',
  cancel: 'Cancel the operation',
  'write-off': 'Write off stock',
  accept: 'Accept (with adjustment)',
}

export const ACTION_HINTS: Record<Action, string> = {
  'partial-dispense': 'Record that only part of the quantity was handed out.',
  'switch-lot': 'The medicine came from another lot: take it from that lot instead.',
  cancel: 'The operation did not happen as recorded: it changes no stock.',
  'write-off': 'Remove stock from a lot (lost, damaged, expired).',
  accept: 'Accept the operation as recorded, optionally with a stock correction.',
}

/** Decisions the relay can apply to this conflict: the ledger's one table (`@clinic-mesh/ledger/decisions`). */
export function actionsFor(c: ConflictView): Action[] {
  return applicableDecisions(c.kind, c.operation.kind)
}

/** Conflicts per 100 operations, "4.2" (one decimal); "—" with no operations. */
export function conflictRate(conflicts: number, operations: number): string {
  return operations > 0 ? ((100 * conflicts) / operations).toFixed(1) : '—'
}

/** A one-line statement of a decision already taken. */
export function describeDecision(d: NonNullable<ConflictView['resolution']>['decision']): string {
  switch (d.action) {
    case 'partial-dispense':
      return `Partial dispense of ${d.quantity}`
    case 'switch-lot':
      return `Switched to lot ${d.batch}`
    case 'cancel':
      return 'Cancelled'
    case 'write-off':
      return `Wrote off ${d.quantity} from lot ${d.batch}`
    case 'accept':
      return d.adjustment
        ? `Accepted, lot ${d.adjustment.batch} adjusted by ${d.adjustment.delta}`
        : 'Accepted as recorded'
  }
}

/** "29 Nov 2026, 07:41:05" in the reviewer's locale; the ISO text when unparseable. */
export function deviceTime(iso: string): string {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return d.toLocaleString([], {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  })
}

/** Minor units → "1.20". */
export function money(minor: number | undefined): string {
  return minor === undefined ? '—' : (minor / 100).toFixed(2)
}
