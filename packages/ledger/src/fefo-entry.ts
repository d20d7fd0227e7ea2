/**
 * `@clinic-mesh/ledger/fefo`: the FEFO rule alone, for browsers (no Automerge, no Node `Buffer`): the web suggests
 * the lot the relay will settle. Everything here is also exported from `@clinic-mesh/ledger`.
 */
export type { FefoAllocation, FefoLot, FefoPick } from './fefo.js'
export { allocateFefo, compareFefo, isExpired } from './fefo.js'
export { expiryEnd } from './inventory.js'
