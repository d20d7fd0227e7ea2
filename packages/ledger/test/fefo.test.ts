import type { BatchId } from '@clinic-mesh/contracts'
import {
  SettlementEngine,
  allocateFefo,
  compareFefo,
  isExpired,
  project,
  suggestFefo,
  type FefoLot,
} from '@clinic-mesh/ledger'
import { describe, expect, it } from 'vitest'
import { FakeTime, PARACETAMOL, SITE_A, device, dispense, formulary, receive, run } from './fixtures.js'

const AT = Date.parse('2027-03-15T10:00:00Z')
const lot = (batch: string, expiry: string, available: number): FefoLot => ({ batch, expiry, available })
const drawn = (lots: readonly FefoLot[], quantity: number, asOf = AT) => {
  const { picks, short } = allocateFefo(lots, quantity, asOf)
  return { picks: picks.map((p) => [p.lot.batch, p.quantity]), short }
}

describe('allocateFefo: the one FEFO rule', () => {
  const june = lot('JUN', '2027-06-30', 10)
  const april = lot('APR', '2027-04-30', 10)
  const dec = lot('DEC', '2027-12-31', 10)

  it('draws the earliest expiry first, whatever order the lots come in', () => {
    for (const lots of [
      [june, april, dec],
      [dec, june, april],
      [april, june, dec],
    ]) {
      expect(drawn(lots, 4)).toEqual({ picks: [['APR', 4]], short: 0 })
      expect(drawn(lots, 25)).toEqual({
        picks: [
          ['APR', 10],
          ['JUN', 10],
          ['DEC', 5],
        ],
        short: 0,
      })
    }
  })

  it('skips lots past their last day of use, and lots with nothing left', () => {
    const expired = lot('FEB', '2027-02-28', 50)
    const lastDay = lot('MAR15', '2027-03-15', 3) // usable until the end of its expiry day (UTC)
    const empty = lot('MAR20', '2027-03-20', 0)
    const negative = lot('MAR21', '2027-03-21', -4)
    expect(drawn([june, expired, empty, negative, lastDay], 5)).toEqual({
      picks: [
        ['MAR15', 3],
        ['JUN', 2],
      ],
      short: 0,
    })
    expect(isExpired('2027-03-15', Date.parse('2027-03-15T23:59:59.999Z'))).toBe(false)
    expect(isExpired('2027-03-15', Date.parse('2027-03-16T00:00:00Z'))).toBe(true)
    expect(drawn([lastDay, june], 5, Date.parse('2027-03-16T00:00:00Z'))).toEqual({
      picks: [['JUN', 5]],
      short: 0,
    })
  })

  it('an accepted override (asOf -Infinity) may draw expired lots, still earliest first', () => {
    const expired = lot('FEB', '2027-02-28', 2)
    expect(drawn([june, expired], 3, Number.NEGATIVE_INFINITY)).toEqual({
      picks: [
        ['FEB', 2],
        ['JUN', 1],
      ],
      short: 0,
    })
  })

  it('breaks ties between lots of the same expiry by lot id, by code unit (not locale)', () => {
    const same = (batch: string) => lot(batch, '2027-06-30', 1)
    expect(
      drawn([same('b'), same('L2'), same('a'), same('L10'), same('B')], 5).picks.map(([b]) => b),
    ).toEqual(['B', 'L10', 'L2', 'a', 'b'])
    expect(compareFefo(same('x'), same('x'))).toBe(0)
  })

  it('reports what no usable lot covers as the shortfall', () => {
    expect(drawn([june, april, lot('OLD', '2020-01-01', 100)], 26)).toEqual({
      picks: [
        ['APR', 10],
        ['JUN', 10],
      ],
      short: 6,
    })
    expect(drawn([], 3)).toEqual({ picks: [], short: 3 })
    expect(drawn([june], 0)).toEqual({ picks: [], short: 0 })
  })
})

describe('settlement, projection and suggestion use it', () => {
  it('the relay settles, the device projects and suggests the same lots: earlier expiry first though received last', () => {
    const time = new FakeTime()
    const engine = new SettlementEngine()
    const admin = device('admin', time, 'admin')
    const a = device('a', time)
    const late = 'lot-late' as BatchId
    const early = 'lot-early' as BatchId
    const f = formulary(admin, PARACETAMOL, 50)
    time.advance(1)
    run(engine, [
      f,
      receive(a, PARACETAMOL, late, 10, '2027-12-31'),
      receive(a, PARACETAMOL, early, 10, '2027-06-30'),
    ])
    const settled = engine.inventory()
    time.advance(1)
    expect(suggestFefo(project(settled, [], { site: SITE_A }), PARACETAMOL, 12, time.t)).toEqual({
      picks: [
        { batch: early, quantity: 10, expiry: '2027-06-30' },
        { batch: late, quantity: 2, expiry: '2027-12-31' },
      ],
      short: 0,
    })
    const op = dispense(a, PARACETAMOL, null, 12, { price: 50, stock: 20 })
    const tentative = project(settled, [op], { site: SITE_A })
    expect(tentative.lines.map((l) => [l.batch, l.tentative])).toEqual([
      [early, 0],
      [late, 8],
    ])
    run(engine, [op])
    expect([engine.quantity(SITE_A, early), engine.quantity(SITE_A, late)]).toEqual([0, 8])
  })
})
