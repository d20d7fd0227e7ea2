import type { ConflictKind } from './conflict.js'
import type { Decision, OperationKind } from './operation.js'

/**
 * Which decisions apply to which conflict: the one home of the rule (issue 15 item 11). The relay refuses any other
 * decision before it records anything (`planDecision` throws `ResolutionNotApplicableError`), and the reviewer
 * console offers exactly these (`@clinic-mesh/ledger/decisions`, no other import). Order: the usual choice first.
 */
export type DecisionAction = Decision['action']

const ALL: readonly DecisionAction[] = ['partial-dispense', 'switch-lot', 'cancel', 'write-off', 'accept']

/** Decisions on a dispense, by conflict kind (any kind not listed: all five). */
const ON_DISPENSE: Partial<Record<ConflictKind, readonly DecisionAction[]>> = {
  // an item nobody listed has no lots to take from (accept works once the item and its stock are known)
  'unknown-item': ['cancel', 'accept'],
  // a lot the relay never received: most often a mistyped lot number
  'unknown-batch': ['switch-lot', 'cancel'],
  // more than the prescription line prescribes: hand out what remains, take it back, or accept it as given
  'over-dispensed': ['partial-dispense', 'cancel', 'accept'],
  // the prescription was changed centrally (on hold, cancelled, another version) while the tablet was offline: the
  // medicine was handed out, so record it as given (or part of it), or record that it was not
  'prescription-changed': ['accept', 'partial-dispense', 'cancel'],
  'price-changed': ['accept', 'partial-dispense', 'cancel'],
  'formulary-changed': ['accept', 'partial-dispense', 'cancel'],
  unauthorized: ['cancel', 'accept'],
}

/** Decisions by the operation's kind, for conflicts on anything but a dispense. */
const ON_OTHER: Partial<Record<OperationKind, readonly DecisionAction[]>> = {
  // a receipt in conflict (unknown item, lot received differently, unauthorised) can only be taken back
  receive: ['cancel'],
  // a status change made outside the relay's API (a forged one) is never applied by a decision
  'prescription-status': ['cancel'],
  'formulary-update': ['accept', 'cancel'],
  resolution: ['cancel'],
}

/**
 * The decisions a reviewer may take on a conflict of `kind` (a `ConflictKind`) raised on an operation of `opKind` (an
 * `OperationKind`); plain strings, as the console receives them.
 */
export function applicableDecisions(kind: string, opKind: string): DecisionAction[] {
  if (kind === 'idempotency-mismatch' || kind === 'chain-fork') return ['cancel', 'write-off']
  if (kind === 'chain-gap') return ['accept', 'cancel', 'write-off']
  if (opKind === 'dispense') return [...(ON_DISPENSE[kind as ConflictKind] ?? ALL)]
  return [...(ON_OTHER[opKind as OperationKind] ?? ['accept', 'cancel', 'write-off'])]
}

export function isDecisionApplicable(kind: string, opKind: string, action: string): boolean {
  return (applicableDecisions(kind, opKind) as string[]).includes(action)
}
