import type { BatchId, PrescriptionId } from '@clinic-mesh/contracts'
import type { Operation } from '@clinic-mesh/ledger'
import { SettlementEngine, project } from '@clinic-mesh/ledger'
import { beforeEach, describe, expect, it } from 'vitest'
import {
  FakeTime,
  LOT1,
  LOT2,
  MORPHINE,
  PARACETAMOL,
  RX,
  RX_HASH_V1,
  SITE_A,
  SITE_B,
  device,
  dispense,
  formulary,
  opId,
  receive,
  run,
} from './fixtures.js'

/**
 * Each case: the relay settles a baseline, two devices (two DeviceLogs) work offline from the same settled
 * inventory, then their logs reach the relay.
 */
describe('conflicts built offline on two replicas', () => {
  let time: FakeTime
  let engine: SettlementEngine
  const admin = () => device('admin', time, 'admin')
  let authority: ReturnType<typeof admin>
  let a: ReturnType<typeof admin>
  let b: ReturnType<typeof admin>

  beforeEach(() => {
    time = new FakeTime()
    engine = new SettlementEngine()
    authority = admin()
    a = device('a', time)
    b = device('b', time)
    const items = [
      formulary(authority, PARACETAMOL, 50),
      formulary(authority, MORPHINE, 900, { controlled: true }),
    ]
    time.advance(1)
    const r = run(engine, [
      ...items,
      receive(a, PARACETAMOL, LOT1, 10, '2026-03-03'),
      receive(a, PARACETAMOL, LOT2, 10),
      receive(a, MORPHINE, 'lot-m' as BatchId, 5),
    ])
    expect(r.conflicts).toEqual([])
    time.advance(1000)
  })

  const kinds = (ops: Operation[]) => run(engine, ops).conflicts.map((c) => c.kind)

  it('same batch dispensed in two places: insufficient-stock, with what the device saw', () => {
    const settled = engine.inventory()
    const seenA = project(settled, [], { site: SITE_A }).lines.find((l) => l.batch === LOT1)!.tentative
    const dA = dispense(a, PARACETAMOL, LOT1, 7, { price: 50, stock: seenA })
    const dB = dispense(b, PARACETAMOL, LOT1, 7, { price: 50, stock: seenA })
    const round = run(engine, [dB, dA])
    expect(round.settled).toHaveLength(1)
    const [c] = round.conflicts
    expect(c).toMatchObject({
      kind: 'insufficient-stock',
      seen: { stock: 10, batch: LOT1, price: 50 },
      authority: { stock: 3 },
      critical: false,
    })
    expect(engine.quantity(SITE_A, LOT1)).toBe(3)
  })

  it('batch expired at dispense time', () => {
    time.advance(2 * 86_400_000) // LOT1 expires 2026-03-03
    expect(
      kinds([
        dispense(a, PARACETAMOL, LOT1, 1, { price: 50, stock: 10 }),
        dispense(b, PARACETAMOL, LOT2, 1, { price: 50, stock: 10 }),
      ]),
    ).toEqual(['batch-expired'])
  })

  it('unknown item, unknown batch, batch registered for another item', () => {
    const ops = [
      dispense(a, 'item-ghost' as never, null, 1, { price: 1, stock: 1 }),
      dispense(b, PARACETAMOL, 'lot-ghost' as BatchId, 1, { price: 50, stock: 1 }),
      receive(b, MORPHINE, LOT1, 5),
    ]
    expect(kinds(ops).sort()).toEqual(['batch-mismatch', 'unknown-batch', 'unknown-item'])
  })

  it('price changed while the device was offline', () => {
    const before = dispense(b, PARACETAMOL, LOT2, 1, { price: 50, stock: 10 }) // dispensed before the change
    time.advance(1000)
    const update = formulary(authority, PARACETAMOL, 65)
    time.advance(1000)
    const late = dispense(a, PARACETAMOL, LOT2, 1, { price: 50, stock: 10 }) // device never saw the update
    const round = run(engine, [late, update])
    expect(round.conflicts).toMatchObject([
      { kind: 'price-changed', seen: { price: 50 }, authority: { price: 65 } },
    ])
    // `before` arrives last but is checked against the price in force at its own time
    expect(run(engine, [before]).conflicts).toEqual([])
  })

  it('formulary withdrawal while offline', () => {
    const withdraw = formulary(authority, PARACETAMOL, 50, { status: 'withdrawn' })
    time.advance(10)
    expect(kinds([withdraw, dispense(a, PARACETAMOL, LOT2, 1, { price: 50, stock: 10 })])).toEqual([
      'formulary-change'.concat('d'),
    ])
  })

  it('prescription edited centrally (status op) or by a pluggable lookup', () => {
    const edit = authority.append(
      { kind: 'prescription-status', prescription: RX, signedHash: 'rxhash-v2', status: 'superseded' },
      opId(),
    )
    time.advance(10)
    const round = run(engine, [
      edit,
      dispense(a, PARACETAMOL, LOT2, 1, { price: 50, stock: 10, rxHash: RX_HASH_V1 }),
    ])
    expect(round.conflicts).toMatchObject([
      {
        kind: 'prescription-changed',
        seen: { prescriptionHash: RX_HASH_V1 },
        authority: { prescriptionHash: 'rxhash-v2' },
      },
    ])
    const withLookup = new SettlementEngine({
      prescriptionLookup: (id: PrescriptionId) =>
        id === RX ? { hash: 'rxhash-v3', status: 'active' } : undefined,
    })
    const t = new FakeTime()
    const admin2 = device('admin', t, 'admin')
    const d = device('d', t)
    const r = run(withLookup, [
      formulary(admin2, PARACETAMOL, 50),
      receive(d, PARACETAMOL, LOT2, 3),
      dispense(d, PARACETAMOL, LOT2, 1, { price: 50, stock: 3 }),
    ])
    expect(r.conflicts.map((c) => c.kind)).toEqual(['prescription-changed'])
  })

  it('controlled-drug count discrepancy is critical; a plain count discrepancy is not', () => {
    const dispensed = dispense(a, MORPHINE, 'lot-m' as BatchId, 2, { price: 900, stock: 5 })
    const count = b.append(
      { kind: 'count', item: MORPHINE, batch: 'lot-m' as BatchId, counted: 5, stockSeen: 5 },
      opId(),
    )
    const plain = b.append(
      { kind: 'count', item: PARACETAMOL, batch: LOT2, counted: 9, stockSeen: 10 },
      opId(),
    )
    const round = run(engine, [dispensed, count, plain])
    expect(round.conflicts.map((c) => [c.kind, c.critical])).toEqual([
      ['controlled-count-discrepancy', true],
      ['count-discrepancy', false],
    ])
  })

  it('hash-chain gap waits, then is flagged when the period closes; a fork is flagged at once', () => {
    const first = dispense(a, PARACETAMOL, LOT2, 1, { price: 50, stock: 10 })
    const second = dispense(a, PARACETAMOL, LOT2, 1, { price: 50, stock: 9 })
    expect(run(engine, [second]).settled).toEqual([])
    expect(engine.pending()).toEqual([
      { id: second.id, device: a.device, seq: second.seq, reason: 'awaiting-predecessor' },
    ])
    const closed = engine.closePeriod(time.t + 1)
    expect(closed.conflicts).toMatchObject([{ kind: 'chain-gap', authority: { missingFrom: first.seq } }])
    expect(engine.statusOf(second)).toBe('conflict')
    // the missing op arrives later: it settles, and the parked successor keeps its place in the chain
    expect(run(engine, [first]).settled).toEqual([first.id])
    // fork: a replica of device b reuses b's chain position with other content
    const bOp = dispense(b, PARACETAMOL, LOT2, 1, { price: 50, stock: 9 })
    const forked = { ...bOp, id: opId(), quantity: 5 } // same seq and prev, other content
    const round = run(engine, [bOp, forked])
    expect(round.conflicts.map((c) => c.kind)).toEqual(['chain-fork'])
  })

  it('same idempotency id with different content is a conflict; same content is a duplicate', () => {
    const op = dispense(a, PARACETAMOL, LOT2, 1, { price: 50, stock: 10 })
    run(engine, [op])
    const report = engine.ingest([op, op])
    expect(report.duplicates).toBe(2)
    const replay = dispense(b, PARACETAMOL, LOT2, 3, { price: 50, stock: 10 })
    const reused = { ...replay, id: op.id }
    const round = run(engine, [reused])
    expect(round.conflicts).toMatchObject([{ kind: 'idempotency-mismatch' }])
    expect(engine.statusOf(op)).toBe('settled')
    expect(engine.statusOf(reused)).toBe('conflict')
    expect(engine.quantity(SITE_A, LOT2)).toBe(9)
  })

  it('adjustment requests wait for a supervisor; formulary updates need the authority', () => {
    const adj = a.append(
      {
        kind: 'adjustment-request',
        item: PARACETAMOL,
        batch: LOT2,
        delta: -2,
        reason: 'broken',
        corrects: null,
        approval: null,
      },
      opId(),
    )
    const rogue = formulary(b, PARACETAMOL, 1)
    expect(kinds([adj, rogue])).toEqual(['adjustment-approval', 'unauthorized'])
  })

  it('transfer-in waits for its transfer-out, and is flagged unmatched when the period closes', () => {
    const out = a.append(
      { kind: 'transfer-out', item: PARACETAMOL, batch: LOT2, quantity: 4, transfer: 't1', to: SITE_B },
      opId(),
    )
    const c = device('c', time, 'pharmacist', SITE_B)
    time.advance(10)
    const inn = c.append(
      { kind: 'transfer-in', item: PARACETAMOL, batch: LOT2, quantity: 4, transfer: 't1', from: SITE_A },
      opId(),
    )
    const orphan = c.append(
      { kind: 'transfer-in', item: PARACETAMOL, batch: LOT2, quantity: 1, transfer: 't9', from: SITE_A },
      opId(),
    )
    run(engine, [inn, orphan])
    expect(engine.pending().map((p) => p.reason)).toEqual(['awaiting-transfer-out', 'awaiting-transfer-out'])
    expect(run(engine, [out]).settled.sort()).toEqual([out.id, inn.id].sort())
    expect([engine.quantity(SITE_A, LOT2), engine.quantity(SITE_B, LOT2)]).toEqual([6, 4])
    expect(engine.closePeriod(time.t + 1).conflicts.map((x) => x.kind)).toEqual(['transfer-unmatched'])
    expect(engine.pending()).toEqual([])
  })
})
