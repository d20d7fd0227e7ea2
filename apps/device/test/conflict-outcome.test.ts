import { describe, expect, it } from 'vitest'
import { conflictOutcome, parseConflictEntries } from '../src/conflict-outcome.js'
import { flaggedOf } from '../src/flagged-ops.js'

// A conflict queue entry as the relay writes it (JSON of a ledger Conflict with its status and resolution).
const op = {
  v: 1,
  id: 'op_1',
  kind: 'dispense',
  device: 'dev_a',
  user: 'u_pharm',
  role: 'pharmacist',
  site: 'loc_1',
  hlc: { wall: Date.UTC(2026, 0, 2), counter: 0, node: 'dev_a' },
  seq: 1,
  prev: null,
  hash: 'a'.repeat(64),
  item: 'item_amox',
  batch: 'lot_1',
  quantity: 10,
}
const open = {
  id: 'c_op_1',
  kind: 'insufficient-stock',
  detail: 'only 4 left',
  critical: false,
  status: 'open',
  op,
  seen: { stock: 12 },
  authority: { stock: 4 },
  round: 0,
  resolution: null,
  refusals: [],
}
const resolved = {
  ...open,
  status: 'resolved',
  resolution: {
    op: 'op_r',
    decision: { action: 'partial-dispense', quantity: 4 },
    by: 'u_rev',
    role: 'pharmacist',
    approvedBy: { user: 'u_sup', role: 'supervisor' },
    round: 0,
  },
}

describe('conflict queue entries', () => {
  it('parses entries with the contracts schema and leaves out what is not JSON or does not fit', () => {
    const entries = parseConflictEntries([
      JSON.stringify(open),
      '{not json',
      JSON.stringify({ ...open, status: 'pending' }),
      JSON.stringify({ ...open, op: { id: 'op_2' } }),
    ])
    expect(entries.map((e) => e.id)).toEqual(['c_op_1'])
    expect(entries[0]!.authority.stock).toBe(4)
  })

  it('an open conflict has no decision; a resolved one has the decision, who made it and who approved', () => {
    const [o, r] = parseConflictEntries([JSON.stringify(open), JSON.stringify(resolved)])
    expect(conflictOutcome(o!)).toEqual({ status: 'open', decision: null })
    expect(conflictOutcome(r!)).toEqual({
      status: 'resolved',
      decision: {
        action: 'partial-dispense',
        quantity: 4,
        by: 'u_rev',
        role: 'pharmacist',
        approvedBy: 'u_sup',
      },
    })
  })

  it('an accepted adjustment keeps its adjustment; an accept without one has none', () => {
    const accept = (adjustment: unknown) =>
      conflictOutcome(
        parseConflictEntries([
          JSON.stringify({
            ...resolved,
            resolution: { ...resolved.resolution, decision: { action: 'accept', adjustment } },
          }),
        ])[0]!,
      ).decision
    expect(accept({ batch: 'lot_1', delta: -2 })?.adjustment).toEqual({ batch: 'lot_1', delta: -2 })
    expect(accept(null)).not.toHaveProperty('adjustment')
  })

  it("a device's flags show the decision in the flag's own terms (no approver, no adjustment)", () => {
    const flags = flaggedOf(parseConflictEntries([JSON.stringify(resolved)]), 'dev_a')
    expect(flags).toEqual([
      {
        conflict: 'c_op_1',
        op: 'op_1',
        opKind: 'dispense',
        kind: 'insufficient-stock',
        detail: 'only 4 left',
        item: 'item_amox',
        batch: 'lot_1',
        quantity: 10,
        at: '2026-01-02T00:00:00.000Z',
        user: 'u_pharm',
        critical: false,
        status: 'resolved',
        decision: { action: 'partial-dispense', quantity: 4, by: 'u_rev', role: 'pharmacist' },
      },
    ])
    expect(flaggedOf(parseConflictEntries([JSON.stringify(resolved)]), 'dev_b')).toEqual([])
  })
})
