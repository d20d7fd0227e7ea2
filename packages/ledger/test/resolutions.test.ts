import type { BatchId, UserId } from '@clinic-mesh/contracts'
import type { Conflict } from '@clinic-mesh/ledger'
import { SettlementEngine } from '@clinic-mesh/ledger'
import { beforeEach, describe, expect, it } from 'vitest'
import {
  FakeTime,
  LOT1,
  LOT2,
  MORPHINE,
  PARACETAMOL,
  SITE_A,
  device,
  dispense,
  formulary,
  opId,
  receive,
  resolve,
  run,
} from './fixtures.js'

const LOT_M = 'lot-m' as BatchId
const SUPERVISOR = { user: 'user-sup' as UserId, role: 'supervisor' as const }

describe('resolutions', () => {
  let time: FakeTime
  let engine: SettlementEngine
  let a: ReturnType<typeof device>
  let b: ReturnType<typeof device>
  let reviewer: ReturnType<typeof device>
  let oversold: Conflict

  beforeEach(() => {
    time = new FakeTime()
    engine = new SettlementEngine({ writeOffApprovalThreshold: 1000, journal: true })
    const admin = device('admin', time, 'admin')
    a = device('a', time)
    b = device('b', time)
    reviewer = device('rev', time, 'reviewer')
    const items = [formulary(admin, PARACETAMOL, 50), formulary(admin, MORPHINE, 900, { controlled: true })]
    time.advance(1)
    run(engine, [
      ...items,
      receive(a, PARACETAMOL, LOT1, 10),
      receive(a, PARACETAMOL, LOT2, 20, '2028-01-01', 100),
      receive(a, MORPHINE, LOT_M, 5, '2028-01-01', 500),
    ])
    time.advance(1)
    const round = run(engine, [
      dispense(a, PARACETAMOL, LOT1, 8, { price: 50, stock: 10 }),
      dispense(b, PARACETAMOL, LOT1, 6, { price: 50, stock: 10 }),
    ])
    oversold = round.conflicts[0]!
    expect(oversold.kind).toBe('insufficient-stock')
    time.advance(1)
  })

  it('switch lot: the dispense is taken from another lot; the original record stays', () => {
    const round = run(engine, [resolve(reviewer, oversold.id, { action: 'switch-lot', batch: LOT2 })])
    expect(round.resolved).toEqual([oversold.id])
    expect([engine.quantity(SITE_A, LOT1), engine.quantity(SITE_A, LOT2)]).toEqual([2, 14])
    const c = engine.conflict(oversold.id)!
    expect(c).toMatchObject({
      status: 'resolved',
      resolution: { by: 'user-rev', role: 'reviewer', approvedBy: null },
    })
    expect(engine.statusOf(c.op)).toBe('conflict') // still exactly once: in conflict, now resolved
  })

  it('partial dispense takes only what is there; more is refused and the conflict stays open', () => {
    const tooMuch = run(engine, [resolve(reviewer, oversold.id, { action: 'partial-dispense', quantity: 5 })])
    expect(tooMuch.refused.map((r) => r.error)).toEqual(['ResolutionNotApplicableError'])
    expect(engine.conflict(oversold.id)!.status).toBe('open')
    run(engine, [resolve(reviewer, oversold.id, { action: 'partial-dispense', quantity: 2 })])
    expect(engine.quantity(SITE_A, LOT1)).toBe(0)
    expect(engine.conflict(oversold.id)!.status).toBe('resolved')
  })

  it('cancel leaves stock alone and a second resolution is refused', () => {
    run(engine, [resolve(reviewer, oversold.id, { action: 'cancel' })])
    expect(engine.quantity(SITE_A, LOT1)).toBe(2)
    const again = run(engine, [resolve(reviewer, oversold.id, { action: 'cancel' })])
    expect(again.refused.map((r) => r.error)).toEqual(['UnknownConflictError'])
  })

  it('write-off above the threshold needs a second approver with the supervisor role', () => {
    const big = { action: 'write-off' as const, batch: LOT2, quantity: 11 } // 11 × 100 > 1000
    expect(run(engine, [resolve(reviewer, oversold.id, big)]).refused.map((r) => r.error)).toEqual([
      'ResolutionApprovalError',
    ])
    expect(
      run(engine, [resolve(reviewer, oversold.id, big, { user: 'user-rev' as UserId, role: 'supervisor' })])
        .refused,
    ).toHaveLength(1) // same person twice
    const ok = run(engine, [resolve(reviewer, oversold.id, big, SUPERVISOR)])
    expect(ok.resolved).toEqual([oversold.id])
    expect(engine.conflict(oversold.id)!.resolution).toMatchObject({ by: 'user-rev', approvedBy: SUPERVISOR })
    expect(engine.quantity(SITE_A, LOT2)).toBe(9)
    expect(engine.journal().at(-1)).toMatchObject({ batch: LOT2, delta: -11, cause: 'resolution:write-off' })
  })

  it('a controlled-drug count discrepancy needs supervisor approval; accept with adjustment sets the counted stock', () => {
    const round = run(engine, [
      b.append({ kind: 'count', item: MORPHINE, batch: LOT_M, counted: 3, stockSeen: 5 }, opId()),
    ])
    const c = round.conflicts[0]!
    expect(c).toMatchObject({ kind: 'controlled-count-discrepancy', critical: true })
    expect(
      run(engine, [resolve(reviewer, c.id, { action: 'accept', adjustment: null })]).refused[0]!.error,
    ).toBe('ResolutionApprovalError')
    expect(engine.quantity(SITE_A, LOT_M)).toBe(5)
    const sup = device('sup2', time, 'supervisor')
    run(engine, [
      resolve(
        sup,
        c.id,
        { action: 'accept', adjustment: null },
        { user: 'user-other-sup' as UserId, role: 'supervisor' },
      ),
    ])
    expect(engine.quantity(SITE_A, LOT_M)).toBe(3)
  })

  it('accept with adjustment: found stock is recorded, then the dispense applies; never below zero', () => {
    const negative = run(engine, [
      resolve(reviewer, oversold.id, { action: 'accept', adjustment: { batch: LOT1, delta: 1 } }),
    ])
    expect(negative.refused[0]!.error).toBe('ResolutionNotApplicableError')
    run(engine, [resolve(reviewer, oversold.id, { action: 'accept', adjustment: { batch: LOT1, delta: 4 } })])
    expect(engine.quantity(SITE_A, LOT1)).toBe(0)
  })

  it('adjustment request: a supervisor approves it (or it settles at once when it carries a supervisor approval)', () => {
    const req = a.append(
      {
        kind: 'adjustment-request',
        item: PARACETAMOL,
        batch: LOT2,
        delta: -3,
        reason: 'damaged',
        corrects: null,
        approval: null,
      },
      opId(),
    )
    const c = run(engine, [req]).conflicts[0]!
    expect(
      run(engine, [resolve(reviewer, c.id, { action: 'accept', adjustment: null })]).refused[0]!.error,
    ).toBe('ResolutionApprovalError')
    const sup = device('sup', time, 'supervisor')
    run(engine, [resolve(sup, c.id, { action: 'accept', adjustment: null })])
    expect(engine.quantity(SITE_A, LOT2)).toBe(17)
    const approved = a.append(
      {
        kind: 'adjustment-request',
        item: PARACETAMOL,
        batch: LOT2,
        delta: -2,
        reason: 'damaged',
        corrects: null,
        // the engine sees a signature; whether it verifies is the relay's check (test/relay-adjustment-approval)
        approval: { ...SUPERVISOR, signature: 'ab'.repeat(64) },
      },
      opId(),
    )
    expect(run(engine, [approved]).settled).toEqual([approved.id])
    expect(engine.quantity(SITE_A, LOT2)).toBe(15)
  })

  it('a clerk role may not resolve at all', () => {
    const clerk = device('clerk', time, 'registration')
    expect(run(engine, [resolve(clerk, oversold.id, { action: 'cancel' })]).refused[0]!.error).toBe(
      'ResolutionApprovalError',
    )
  })
})

describe('a resolution the relay does not trust', () => {
  it('resolves nothing: it is raised as an unauthorized conflict of its own and the conflict stays open', () => {
    const time = new FakeTime()
    const untrusted = new Set<string>()
    const engine = new SettlementEngine({
      distrust: (op) => (untrusted.has(op.hash) ? 'resolutions are made at the relay' : null),
    })
    const admin = device('admin', time, 'admin')
    const a = device('a', time)
    time.advance(1)
    run(engine, [formulary(admin, PARACETAMOL, 50), receive(a, PARACETAMOL, LOT1, 1)])
    time.advance(1)
    const oversold = run(engine, [dispense(a, PARACETAMOL, LOT1, 5, { price: 50, stock: 1 })]).conflicts[0]!
    time.advance(1)
    const forged = resolve(
      device('rogue', time, 'pharmacist'),
      oversold.id,
      { action: 'cancel' },
      { user: 'user-sup' as UserId, role: 'supervisor' },
    )
    untrusted.add(forged.hash)
    const round = run(engine, [forged])
    expect(round.resolved).toEqual([])
    expect(round.conflicts.map((c) => [c.kind, c.op.id, c.detail])).toEqual([
      ['unauthorized', forged.id, 'resolutions are made at the relay'],
    ])
    expect(engine.conflict(oversold.id)!.status).toBe('open')
  })
})

describe('adjusting the books needs a supervisor who is not the one who recorded it', () => {
  it('an unsigned approval is a claim; a count accepted books what was missing when it was made', () => {
    const time = new FakeTime()
    const engine = new SettlementEngine()
    const admin = device('admin', time, 'admin')
    const a = device('a', time)
    const sup = device('sup', time, 'supervisor')
    run(engine, [formulary(admin, PARACETAMOL, 50)])
    time.advance(1)
    run(engine, [receive(a, PARACETAMOL, LOT1, 10)])
    time.advance(1)
    const claimed = a.append(
      {
        kind: 'adjustment-request',
        item: PARACETAMOL,
        batch: LOT1,
        delta: -4,
        reason: 'lost',
        corrects: null,
        approval: SUPERVISOR,
      },
      opId(),
    )
    const count = a.append(
      { kind: 'count', item: PARACETAMOL, batch: LOT1, counted: 8, stockSeen: 10 },
      opId(),
    )
    const [claim, counted] = run(engine, [claimed, count]).conflicts
    expect(claim).toMatchObject({ kind: 'adjustment-approval', detail: expect.stringMatching(/not signed/) })
    expect(counted).toMatchObject({ kind: 'count-discrepancy', authority: { stock: 10 } })
    time.advance(1)
    run(engine, [dispense(a, PARACETAMOL, LOT1, 3, { price: 50, stock: 10 })]) // 7 left on the books
    // a pharmacist (or reviewer) alone may not accept a count; nor may the counter approve their own count
    expect(
      run(engine, [resolve(a, counted!.id, { action: 'accept', adjustment: null })]).refused[0]!.error,
    ).toBe('ResolutionApprovalError')
    const selfCount = sup.append(
      { kind: 'count', item: PARACETAMOL, batch: LOT1, counted: 1, stockSeen: 7 },
      opId(),
    )
    const own = run(engine, [selfCount]).conflicts[0]!
    expect(
      run(engine, [resolve(sup, own.id, { action: 'accept', adjustment: null })]).refused[0]!.error,
    ).toBe('ResolutionApprovalError')
    run(engine, [resolve(sup, counted!.id, { action: 'accept', adjustment: null })])
    // 2 were missing at the count; the 3 dispensed since stay booked: 10 − 3 − 2
    expect(engine.quantity(SITE_A, LOT1)).toBe(5)
  })
})
