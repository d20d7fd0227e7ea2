import type { Operation } from './operation.js'
import type { EngineOptions, SettlementRound } from './settlement-engine.js'
import { SettlementEngine } from './settlement-engine.js'

export interface SettleResult extends SettlementRound {
  /** The new authoritative state (an engine snapshot). */
  readonly state: Uint8Array
}

/**
 * Pure settlement: authoritative state (a snapshot, or null for an empty ledger) + new operations → new state,
 * settled operation ids and conflicts. Same inputs, same outputs (byte-identical state).
 */
export function settle(
  state: Uint8Array | null,
  ops: readonly Operation[],
  options: EngineOptions = {},
): SettleResult {
  const engine = state ? SettlementEngine.restore(state, options) : new SettlementEngine(options)
  engine.ingest(ops)
  const round = engine.settle()
  return { ...round, state: engine.snapshot() }
}
