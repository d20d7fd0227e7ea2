import type { Operation } from '@clinic-mesh/ledger'
import { SettlementEngine, dispensedByLine, unitsAfterDecision, validateOperation } from '@clinic-mesh/ledger'
import { beforeEach, describe, expect, it } from 'vitest'
import {
  FakeTime,
  LOT1,
  PARACETAMOL,
  PATIENT,
  RX,
  RX_HASH_V1,
  device,
  formulary,
  opId,
  receive,
  resolve,
  run,
} from './fixtures.js'

type Log = ReturnType<typeof device>

/** A dispense against line `line` of the prescription, which prescribes `prescribed` units. */
function dispenseLine(log: Log, quantity: number, line = 'itm_l1', prescribed = 15): Operation {
  return log.append(
    {
      kind: 'dispense',
      item: PARACETAMOL,
      batch: LOT1,
      quantity,
      patient: PATIENT,
      prescription: RX,
      prescriptionHash: RX_HASH_V1,
      priceSeen: 5,
      stockSeen: 100,
      line,
      prescribed,
    },
    opId(),
  )
}

describe('over-dispensing a prescription line (issue 15)', () => {
  let time: FakeTime
  let engine: SettlementEngine
  let a: Log
  let b: Log
  let reviewer: Log

  beforeEach(() => {
    time = new FakeTime()
    engine = new SettlementEngine()
    const admin = device('admin', time, 'admin')
    a = device('a', time)
    b = device('b', time)
    reviewer = device('rev', time, 'reviewer')
    run(engine, [formulary(admin, PARACETAMOL, 5), receive(admin, PARACETAMOL, LOT1, 100)])
    time.advance(10)
  })

  it('two tablets dispensing one line offline: the second dispense past the prescribed quantity is over-dispensed', () => {
    const first = dispenseLine(a, 10)
    const second = dispenseLine(b, 10)
    time.advance(10)
    const round = run(engine, [first, second])
    expect(round.settled).toEqual([first.id])
    expect(round.conflicts).toMatchObject([
      { kind: 'over-dispensed', op: { id: second.id }, authority: { prescribed: 15, dispensed: 10 } },
    ])
    expect(engine.quantity('site-a', LOT1)).toBe(90) // the flagged dispense moved no stock
  })

  it('35 against 15 on one tablet is flagged; another line and a dispense without a line are not counted', () => {
    const big = dispenseLine(a, 35)
    const other = dispenseLine(a, 15, 'itm_l2')
    const legacy = a.append(
      {
        kind: 'dispense',
        item: PARACETAMOL,
        batch: LOT1,
        quantity: 50,
        patient: PATIENT,
        prescription: RX,
        prescriptionHash: RX_HASH_V1,
        priceSeen: 5,
        stockSeen: 100,
      },
      opId(),
    )
    const round = run(engine, [big, other, legacy])
    expect(round.conflicts.map((c) => c.kind)).toEqual(['over-dispensed'])
    expect(round.settled).toEqual([other.id, legacy.id])
    expect(dispensedByLine([big, other, legacy], RX)).toEqual({ itm_l1: 35, itm_l2: 15 })
    // the relay's decision on the flagged dispense is what the node counts once it knows it
    const partial = unitsAfterDecision({ quantity: 35 }, { action: 'partial-dispense', quantity: 15 })
    expect(dispensedByLine([big, other], RX, new Map([[big.id, partial]]))).toEqual({
      itm_l1: 15,
      itm_l2: 15,
    })
    expect(unitsAfterDecision({ quantity: 35 }, { action: 'cancel' })).toBe(0)
    expect(unitsAfterDecision({ quantity: 35 }, { action: 'accept' })).toBe(35)
  })

  it('a partial dispense of what remains settles it and counts; switching the lot does not apply', () => {
    run(engine, [dispenseLine(a, 10)])
    const second = dispenseLine(b, 10)
    const [c] = run(engine, [second]).conflicts
    const id = c!.id
    const refused = run(engine, [resolve(reviewer, id, { action: 'switch-lot', batch: LOT1 })])
    expect(refused.refused).toMatchObject([{ error: 'ResolutionNotApplicableError' }])
    const done = run(engine, [resolve(reviewer, id, { action: 'partial-dispense', quantity: 5 })])
    expect(done.resolved).toEqual([id])
    expect(engine.quantity('site-a', LOT1)).toBe(85)
    // the line is now fully dispensed: one more unit is over-dispensed again
    expect(run(engine, [dispenseLine(a, 1)]).conflicts.map((x) => x.kind)).toEqual(['over-dispensed'])
  })

  it('the tally survives a snapshot (and snapshots from before the tally still load)', () => {
    run(engine, [dispenseLine(a, 10)])
    const restored = SettlementEngine.restore(engine.snapshot())
    expect(run(restored, [dispenseLine(b, 6)]).conflicts.map((x) => x.kind)).toEqual(['over-dispensed'])
    const old = JSON.parse(new TextDecoder().decode(engine.snapshot())) as Record<string, unknown>
    delete old.dispensed
    const fromOld = SettlementEngine.restore(new TextEncoder().encode(JSON.stringify(old)))
    expect(run(fromOld, [dispenseLine(b, 6)]).conflicts).toEqual([])
  })

  it('line and prescribed are optional, strict operation fields', () => {
    const op = dispenseLine(a, 1)
    expect(validateOperation(JSON.parse(JSON.stringify(op)))).toMatchObject({
      line: 'itm_l1',
      prescribed: 15,
    })
    expect(() => validateOperation({ ...JSON.parse(JSON.stringify(op)), prescribed: 0 })).toThrow()
  })
})
