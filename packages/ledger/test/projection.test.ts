import type { BatchId } from '@clinic-mesh/contracts'
import { SettlementEngine, project, suggestFefo } from '@clinic-mesh/ledger'
import { describe, expect, it } from 'vitest'
import {
  FakeTime,
  LOT1,
  LOT2,
  PARACETAMOL,
  SITE_A,
  device,
  dispense,
  formulary,
  receive,
  run,
} from './fixtures.js'

const LOT3 = 'lot-3' as BatchId

describe('tentative stock on a device', () => {
  it("keeps settled and tentative apart, applies its own and peers' unsettled ops, warns below zero", () => {
    const time = new FakeTime()
    const engine = new SettlementEngine()
    const admin = device('admin', time, 'admin')
    const a = device('a', time)
    const b = device('b', time)
    const f = formulary(admin, PARACETAMOL, 50)
    time.advance(1)
    run(engine, [
      f,
      receive(a, PARACETAMOL, LOT1, 10, '2026-03-02'),
      receive(a, PARACETAMOL, LOT2, 10, '2026-06-30'),
      receive(a, PARACETAMOL, LOT3, 10, '2026-04-30'),
    ])
    const settled = engine.inventory()
    time.advance(1)
    const mine = dispense(a, PARACETAMOL, LOT3, 6, { price: 50, stock: 10 })
    const peers = dispense(b, PARACETAMOL, LOT3, 6, { price: 50, stock: 10 })
    const adj = a.append({
      kind: 'adjustment-request',
      item: PARACETAMOL,
      batch: LOT2,
      delta: -10,
      reason: 'x',
      corrects: null,
      approval: null,
    })
    const p = project(settled, [mine, peers, peers, adj], { site: SITE_A })
    expect(p.applied).toEqual([mine.id, peers.id, adj.id])
    const lot3 = p.lines.find((l) => l.batch === LOT3)!
    expect([lot3.settled, lot3.tentative]).toEqual([10, -2])
    expect(p.lines.find((l) => l.batch === LOT2)).toMatchObject({ settled: 10, tentative: 10 }) // adjustments are relay-only
    expect(p.warnings).toMatchObject([{ kind: 'negative-stock', batch: LOT3, tentative: -2, op: peers.id }])
    expect(engine.quantity(SITE_A, LOT3)).toBe(10) // projecting never touches settled state

    // FEFO on tentative stock: LOT1 expired (end of 2026-03-02), LOT3 exhausted → LOT2
    const later = time.t + 86_400_000
    expect(suggestFefo(p, PARACETAMOL, 4, later)).toEqual({
      picks: [{ batch: LOT2, quantity: 4, expiry: '2026-06-30' }],
      short: 0,
    })
    const today = suggestFefo(p, PARACETAMOL, 25, time.t)
    expect(today.picks.map((x) => [x.batch, x.quantity])).toEqual([
      [LOT1, 10],
      [LOT2, 10],
    ])
    expect(today.short).toBe(5)
    expect(() => suggestFefo(project(settled, []), PARACETAMOL, 1, time.t)).toThrow(
      expect.objectContaining({ name: 'InvalidOperationError' }),
    )
  })
})
