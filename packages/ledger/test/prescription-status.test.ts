import type { Operation } from '@clinic-mesh/ledger'
import { SettlementEngine, applicableDecisions, isDecisionApplicable } from '@clinic-mesh/ledger'
import { beforeEach, describe, expect, it } from 'vitest'
import {
  FakeTime,
  LOT1,
  PARACETAMOL,
  RX,
  RX_HASH_V1,
  device,
  dispense,
  formulary,
  opId,
  receive,
  resolve,
  run,
} from './fixtures.js'

/** Seed 000, "prescription edited centrally during an outage": a hold or cancellation at the relay. */
describe('prescription status changed centrally', () => {
  let time: FakeTime
  let engine: SettlementEngine
  let central: ReturnType<typeof device>
  let tablet: ReturnType<typeof device>
  let reviewer: ReturnType<typeof device>

  const status = (s: 'active' | 'on-hold' | 'cancelled', reason = 'allergy reported by phone'): Operation =>
    central.append(
      { kind: 'prescription-status', prescription: RX, signedHash: RX_HASH_V1, status: s, reason },
      opId(),
    )

  beforeEach(() => {
    time = new FakeTime()
    // the relay's own log: only it is the authority here (as the relay's isAuthority says)
    engine = new SettlementEngine({ isAuthority: (op) => op.device === 'dev-central' || op.role === 'admin' })
    central = device('central', time, 'clinician')
    tablet = device('tablet', time)
    reviewer = device('reviewer', time, 'reviewer')
    const admin = device('admin', time, 'admin')
    expect(
      run(engine, [formulary(admin, PARACETAMOL, 50), receive(tablet, PARACETAMOL, LOT1, 20)]).conflicts,
    ).toEqual([])
    time.advance(1000)
  })

  it('a dispense recorded offline against a held prescription is a prescription-changed conflict with the reason', () => {
    const offline = dispense(tablet, PARACETAMOL, LOT1, 2, { price: 50, stock: 20 })
    time.advance(10)
    expect(run(engine, [status('on-hold')]).conflicts).toEqual([])
    expect(engine.prescription(RX)).toMatchObject({ status: 'on-hold', reason: 'allergy reported by phone' })
    expect(engine.inventory().prescriptions?.[RX]).toMatchObject({ hash: RX_HASH_V1, status: 'on-hold' })
    const [c] = run(engine, [offline]).conflicts
    expect(c).toMatchObject({
      kind: 'prescription-changed',
      authority: { prescriptionStatus: 'on-hold', prescriptionReason: 'allergy reported by phone' },
    })
    expect(c!.detail).toContain('put on hold centrally')
    expect(engine.quantity('site-a', LOT1)).toBe(20)
    // the decisions that apply: the medicine was handed out, so record it (or part), or record it was not
    expect(applicableDecisions(c!.kind, c!.op.kind)).toEqual(['accept', 'partial-dispense', 'cancel'])
    const refused = run(engine, [resolve(reviewer, c!.id, { action: 'switch-lot', batch: LOT1 })])
    expect(refused.refused).toMatchObject([{ error: 'ResolutionNotApplicableError' }])
    expect(run(engine, [resolve(reviewer, c!.id, { action: 'accept', adjustment: null })]).resolved).toEqual([
      c!.id,
    ])
    expect(engine.quantity('site-a', LOT1)).toBe(18)
  })

  it('a released hold lets dispenses settle again; a cancellation stops them', () => {
    run(engine, [status('on-hold')])
    time.advance(10)
    run(engine, [status('active', 'checked with the prescriber')])
    expect(run(engine, [dispense(tablet, PARACETAMOL, LOT1, 1, { price: 50, stock: 20 })]).conflicts).toEqual(
      [],
    )
    time.advance(10)
    run(engine, [status('cancelled', 'wrong patient')])
    const [c] = run(engine, [dispense(tablet, PARACETAMOL, LOT1, 1, { price: 50, stock: 19 })]).conflicts
    expect(c).toMatchObject({ kind: 'prescription-changed', authority: { prescriptionStatus: 'cancelled' } })
  })

  it('a status from a device that is not the authority is refused and changes nothing', () => {
    const forged = tablet.append(
      {
        kind: 'prescription-status',
        prescription: RX,
        signedHash: RX_HASH_V1,
        status: 'cancelled',
        reason: 'x',
      },
      opId(),
    )
    const [c] = run(engine, [forged]).conflicts
    expect(c).toMatchObject({ kind: 'unauthorized' })
    expect(engine.prescription(RX)).toBeUndefined()
    // a reviewer cannot apply it either
    expect(applicableDecisions('unauthorized', 'prescription-status')).toEqual(['cancel'])
    expect(
      run(engine, [resolve(reviewer, c!.id, { action: 'accept', adjustment: null })]).refused,
    ).toMatchObject([{ error: 'ResolutionNotApplicableError' }])
  })
})

describe('applicable decisions: one table', () => {
  it('offers only decisions the ledger can apply', () => {
    expect(applicableDecisions('unknown-item', 'receive')).toEqual(['cancel'])
    expect(isDecisionApplicable('unknown-item', 'receive', 'accept')).toBe(false)
    expect(applicableDecisions('chain-fork', 'dispense')).toEqual(['cancel', 'write-off'])
    expect(applicableDecisions('over-dispensed', 'dispense')).not.toContain('switch-lot')
    expect(applicableDecisions('insufficient-stock', 'dispense')).toHaveLength(5)
    expect(applicableDecisions('count-discrepancy', 'count')).toEqual(['accept', 'cancel', 'write-off'])
  })
})
