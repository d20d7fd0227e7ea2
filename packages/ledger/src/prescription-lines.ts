import type { Operation } from './operation.js'

/**
 * How many units of a dispense the relay's decision leaves handed out: a dispense in a resolved conflict counts the
 * decision's quantity (partial-dispense), nothing (cancel, write-off) or all of it (accept, switch-lot). Mirrors the
 * relay's own tally (resolve.ts `planDecision`).
 */
export function unitsAfterDecision(
  op: { readonly quantity: number },
  decision: { readonly action: string; readonly quantity?: number },
): number {
  switch (decision.action) {
    case 'partial-dispense':
      return decision.quantity ?? 0
    case 'cancel':
    case 'write-off':
      return 0
    default:
      return op.quantity
  }
}

/**
 * Units dispensed per line of prescription `prescription` in `ops` (every device's operations a node holds, settled
 * or not): what the pharmacy screen subtracts from each line's prescribed quantity, across all tablets. `decided`
 * gives, for a dispense whose conflict the relay resolved, the units its decision left handed out (by operation id);
 * every other dispense counts in full. Dispenses recorded without a line (before issue 15) count against no line.
 */
export function dispensedByLine(
  ops: Iterable<Operation>,
  prescription: string,
  decided: ReadonlyMap<string, number> = new Map(),
): Record<string, number> {
  const out: Record<string, number> = {}
  for (const op of ops) {
    if (op.kind !== 'dispense' || op.prescription !== prescription || op.line === undefined) continue
    out[op.line] = (out[op.line] ?? 0) + (decided.get(op.id) ?? op.quantity)
  }
  return out
}
