import type { Operation } from './operation.js'

/**
 * Units dispensed per line of prescription `prescription` in `ops` (every device's operations a node holds, settled
 * or not): what the pharmacy screen subtracts from each line's prescribed quantity, across all tablets. Dispenses
 * recorded without a line (before issue 15) count against no line.
 */
export function dispensedByLine(ops: Iterable<Operation>, prescription: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const op of ops) {
    if (op.kind !== 'dispense' || op.prescription !== prescription || op.line === undefined) continue
    out[op.line] = (out[op.line] ?? 0) + op.quantity
  }
  return out
}
