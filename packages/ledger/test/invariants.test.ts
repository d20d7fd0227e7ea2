import type { BatchId, ItemId, LocationId, OperationId, UserId } from '@clinic-mesh/contracts'
import type { Decision, DeviceLog, Operation } from '@clinic-mesh/ledger'
import { SettlementEngine } from '@clinic-mesh/ledger'
import fc from 'fast-check'
import { assertSized } from '@clinic-mesh/testing'
import { describe, expect, it } from 'vitest'
import { FakeTime, RX, RX_HASH_V1, PATIENT, device } from './fixtures.js'

const SITES = ['s1', 's2'] as LocationId[]
const ITEMS = ['i1', 'i2'] as ItemId[]
const lot = (item: number, n: number) => `b${item}-${n}` as BatchId
const EXPIRY = ['2026-03-02', '2026-09-01', '2027-01-01']

const step = fc.record({
  dev: fc.nat(3),
  kind: fc.constantFrom(
    'dispense',
    'dispense',
    'dispense',
    'dispense-fefo',
    'receive',
    'return',
    'transfer',
    'count',
    'adjust',
    'price',
    'resolve',
  ),
  item: fc.nat(1),
  lot: fc.nat(2),
  qty: fc.integer({ min: 1, max: 9 }),
  target: fc.nat(60),
  decision: fc.nat(5),
  approved: fc.boolean(),
  tick: fc.integer({ min: 0, max: 3_600_000 }),
})

/** Build a scenario: a settled setup then a script of offline operations on 4 devices at 2 sites. */
const SETUP = 14 // 2 formulary updates + 12 receipts

type Step = typeof step extends fc.Arbitrary<infer T> ? T : never

function build(script: Step[]): Operation[] {
  const time = new FakeTime()
  const admin = device('admin', time, 'admin')
  const devs: DeviceLog[] = [0, 1, 2, 3].map((i) =>
    device(`d${i}`, time, i === 3 ? 'supervisor' : 'pharmacist', SITES[i % 2]),
  )
  let n = 0
  const id = () => `op-${n++}` as OperationId
  const ops: Operation[] = ITEMS.map((item, i) =>
    admin.append(
      { kind: 'formulary-update', item, name: item, price: 50, status: 'active', controlled: i === 1 },
      id(),
    ),
  )
  time.advance(1)
  for (const d of devs.slice(0, 2)) {
    for (let i = 0; i < 2; i++)
      for (let l = 0; l < 3; l++) {
        ops.push(
          d.append(
            {
              kind: 'receive',
              item: ITEMS[i]!,
              batch: lot(i, l),
              expiry: EXPIRY[l]!,
              quantity: 15,
              unitCost: 40,
              supplier: 'sup',
              grn: 'g',
            },
            id(),
          ),
        )
      }
  }
  let price = 50
  let transfers = 0
  for (const s of script) {
    time.advance(s.tick)
    const d = devs[s.dev]!
    const item = ITEMS[s.item]!
    const batch = lot(s.item, s.lot)
    switch (s.kind) {
      case 'dispense':
      case 'dispense-fefo':
        ops.push(
          d.append(
            {
              kind: 'dispense',
              item,
              batch: s.kind === 'dispense' ? batch : null,
              quantity: s.qty,
              patient: PATIENT,
              prescription: RX,
              prescriptionHash: RX_HASH_V1,
              priceSeen: s.approved ? price : 50,
              stockSeen: 0,
            },
            id(),
          ),
        )
        break
      case 'receive':
        ops.push(
          d.append(
            {
              kind: 'receive',
              item,
              batch,
              expiry: EXPIRY[s.lot]!,
              quantity: s.qty,
              unitCost: 40,
              supplier: 'sup',
              grn: 'g',
            },
            id(),
          ),
        )
        break
      case 'return':
        ops.push(
          d.append({ kind: 'return', item, batch, quantity: s.qty, dispense: null, reason: 'unused' }, id()),
        )
        break
      case 'transfer': {
        const t = `t${transfers++}`
        const to = devs[(s.dev + 1) % 4]!
        ops.push(
          d.append(
            { kind: 'transfer-out', item, batch, quantity: s.qty, transfer: t, to: to.session.site },
            id(),
          ),
        )
        if (s.approved)
          ops.push(
            to.append(
              { kind: 'transfer-in', item, batch, quantity: s.qty, transfer: t, from: d.session.site },
              id(),
            ),
          )
        break
      }
      case 'count':
        ops.push(d.append({ kind: 'count', item, batch, counted: s.qty, stockSeen: s.qty }, id()))
        break
      case 'adjust':
        ops.push(
          d.append(
            {
              kind: 'adjustment-request',
              item,
              batch,
              delta: s.qty % 2 ? s.qty : -s.qty,
              reason: 'r',
              corrects: null,
              approval: s.approved
                ? { user: 'user-d3' as UserId, role: 'supervisor', signature: 'ab'.repeat(64) }
                : null,
            },
            id(),
          ),
        )
        break
      case 'price':
        price = 40 + s.qty
        ops.push(
          admin.append(
            { kind: 'formulary-update', item, name: item, price, status: 'active', controlled: s.item === 1 },
            id(),
          ),
        )
        break
      case 'resolve': {
        const decisions: Decision[] = [
          { action: 'cancel' },
          { action: 'switch-lot', batch },
          { action: 'partial-dispense', quantity: s.qty },
          { action: 'write-off', batch, quantity: s.qty },
          { action: 'accept', adjustment: null },
          { action: 'accept', adjustment: { batch, delta: s.qty } },
        ]
        ops.push(
          d.append(
            {
              kind: 'resolution',
              conflict: `c_op-${14 + (s.target % Math.max(1, n - 14))}` as never,
              decision: decisions[s.decision]!,
              note: '',
              approval: s.approved ? { user: 'user-sup' as UserId, role: 'supervisor' } : null,
            },
            id(),
          ),
        )
        break
      }
    }
  }
  return ops
}

/** Deliver in chunks (an order and duplicates drawn by fast-check), settle after each chunk, close at the end. */
function deliver(engine: SettlementEngine, ops: Operation[], order: number[], cuts: number[]) {
  const settled: OperationId[] = []
  const rounds = []
  let from = 0
  for (const cut of [...cuts.map((c) => c % (order.length + 1)).sort((x, y) => x - y), order.length]) {
    engine.ingest(order.slice(from, cut).map((i) => ops[i]!))
    from = Math.max(from, cut)
    rounds.push(engine.settle())
  }
  rounds.push(engine.closePeriod(Number.MAX_SAFE_INTEGER))
  for (const r of rounds) settled.push(...r.settled)
  return { settled, rounds }
}

const scenario = fc
  .array(step, { minLength: 1, maxLength: 30 })
  .map(build)
  .chain((ops) =>
    fc.record({
      ops: fc.constant(ops),
      // every op at least once, some several times, in any order
      order: fc
        .tuple(fc.boolean(), fc.array(fc.nat(ops.length - 1), { maxLength: 20 }))
        .chain(([setupFirst, extra]) => {
          const all = [...ops.keys(), ...extra]
          const shuffle = (xs: number[]) => fc.shuffledSubarray(xs, { minLength: xs.length })
          if (!setupFirst) return shuffle(all)
          return fc
            .tuple(shuffle(all.filter((i) => i < SETUP)), shuffle(all.filter((i) => i >= SETUP)))
            .map(([a, b]) => [...a, ...b])
        }),
      cuts: fc.array(fc.nat(200), { maxLength: 5 }),
    }),
  )

describe('settlement invariants (property-based)', () => {
  it('none lost, none settled twice; stock conserved per batch and never negative; deterministic and restartable', async () => {
    // as many runs as fit in 40 s (2,000 on a quiet box, ~80 s; at least 150 when the machine is loaded)
    await assertSized(
      fc.property(scenario, ({ ops, order, cuts }) => {
        const engine = new SettlementEngine({ journal: true })
        const { settled, rounds } = deliver(engine, ops, order, cuts)
        // every operation exactly once: settled xor in conflict, none pending
        expect(new Set(settled).size).toBe(settled.length)
        const inConflict = new Set(rounds.flatMap((r) => r.conflicts.map((c) => c.op.id)))
        for (const op of ops) {
          const s = engine.statusOf(op)
          expect(s === 'settled' || s === 'conflict').toBe(true)
          expect(settled.includes(op.id)).toBe(s === 'settled')
          expect(inConflict.has(op.id)).toBe(s === 'conflict')
        }
        expect(engine.pending()).toEqual([])
        // per batch: settled = receipts − dispenses − write-offs ± transfers ± resolutions, never below zero
        const journal = engine.journal()
        const sum = new Map<string, number>()
        const byOp = new Map<string, number>()
        for (const j of journal) {
          sum.set(`${j.site}|${j.batch}`, (sum.get(`${j.site}|${j.batch}`) ?? 0) + j.delta)
          byOp.set(j.op, (byOp.get(j.op) ?? 0) + j.delta)
        }
        const inv = engine.inventory()
        for (const [site, lots] of Object.entries(inv.stock)) {
          for (const [batch, qty] of Object.entries(lots)) {
            expect(qty).toBeGreaterThanOrEqual(0)
            expect(qty).toBe(sum.get(`${site}|${batch}`) ?? 0)
          }
        }
        for (const op of ops) {
          const moved = byOp.get(op.id) ?? 0
          if (engine.statusOf(op) !== 'settled') {
            if (op.kind !== 'resolution') expect(moved).toBe(0)
            continue
          }
          const expected: Partial<Record<Operation['kind'], number>> =
            op.kind === 'adjustment-request' ? { 'adjustment-request': op.delta } : {}
          if (op.kind === 'dispense' || op.kind === 'transfer-out') expected[op.kind] = -op.quantity
          if (op.kind === 'receive' || op.kind === 'return' || op.kind === 'transfer-in')
            expected[op.kind] = op.quantity
          if (op.kind in expected) expect(moved).toBe(expected[op.kind])
        }
        // same input → same state; and a restart from a snapshot taken mid-way continues identically
        const twin = new SettlementEngine({ journal: true })
        deliver(twin, ops, order, cuts)
        expect(twin.snapshot()).toEqual(engine.snapshot())
        const half = Math.floor(order.length / 2)
        const first = new SettlementEngine()
        first.ingest(order.slice(0, half).map((i) => ops[i]!))
        first.settle()
        const restarted = SettlementEngine.restore(first.snapshot())
        restarted.ingest(order.slice(half).map((i) => ops[i]!))
        restarted.settle()
        restarted.closePeriod(Number.MAX_SAFE_INTEGER)
        const straight = new SettlementEngine()
        straight.ingest(order.slice(0, half).map((i) => ops[i]!))
        straight.settle()
        straight.ingest(order.slice(half).map((i) => ops[i]!))
        straight.settle()
        straight.closePeriod(Number.MAX_SAFE_INTEGER)
        expect(restarted.snapshot()).toEqual(straight.snapshot())
      }),
      { seed: 20260302, maxRuns: 2000, minRuns: 150, budgetMs: 40_000 },
    )
  })
})
