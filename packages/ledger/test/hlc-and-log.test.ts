import * as Automerge from '@automerge/automerge'
import type { ClinicId, DeviceId } from '@clinic-mesh/contracts'
import type { DeviceLogDoc, Operation } from '@clinic-mesh/ledger'
import {
  logOps,
  HybridClock,
  appendOperation,
  compareHlc,
  hashOperation,
  newLogDoc,
  periodOf,
  validateBatch,
  validateOperation,
} from '@clinic-mesh/ledger'
import { describe, expect, it } from 'vitest'
import { FakeTime, LOT1, PARACETAMOL, device, dispense, receive } from './fixtures.js'

describe('hybrid logical clock', () => {
  it('never goes backwards when the wall clock does, and orders after what it observed', () => {
    let wall = 1000
    const clock = new HybridClock('a', () => wall)
    const t1 = clock.tick()
    wall = 500 // wall clock jumps back
    const t2 = clock.tick()
    expect(compareHlc(t1, t2)).toBe(-1)
    clock.observe({ wall: 5000, counter: 7, node: 'b' })
    const t3 = clock.tick()
    expect(compareHlc({ wall: 5000, counter: 7, node: 'b' }, t3)).toBe(-1)
    expect(compareHlc(t3, t3)).toBe(0)
    expect(compareHlc({ wall: 1, counter: 0, node: 'a' }, { wall: 1, counter: 0, node: 'b' })).toBe(-1)
  })
})

describe('device log', () => {
  it('chains operations: seq, prev hash, strictly increasing HLC', () => {
    const time = new FakeTime()
    const log = device('a', time)
    const a = receive(log, PARACETAMOL, LOT1, 10)
    const b = dispense(log, PARACETAMOL, LOT1, 2, { price: 50, stock: 10 })
    expect([a.seq, b.seq]).toEqual([1, 2])
    expect(a.prev).toBeNull()
    expect(b.prev).toBe(a.hash)
    expect(compareHlc(a.hlc, b.hlc)).toBe(-1)
    expect(hashOperation(b)).toBe(b.hash)
    expect(validateOperation(JSON.parse(JSON.stringify(b)))).toEqual(b)
  })

  it('rejects tampered or malformed operations with named errors and never drops them silently', () => {
    const log = device('a', new FakeTime())
    const op = receive(log, PARACETAMOL, LOT1, 10)
    const tampered = { ...op, quantity: 1000 }
    expect(() => validateOperation(tampered)).toThrow(
      expect.objectContaining({ name: 'InvalidOperationError', reason: 'hash-mismatch' }),
    )
    expect(() => validateOperation({ ...op, quantity: -1 })).toThrow(
      expect.objectContaining({ name: 'InvalidOperationError', field: 'quantity' }),
    )
    expect(() => validateOperation({ ...op, kind: 'steal' })).toThrow(
      expect.objectContaining({ reason: 'unknown-kind' }),
    )
    expect(() => validateOperation({ ...op, extra: 1 })).toThrow(
      expect.objectContaining({ reason: 'unknown-field' }),
    )
    const { valid, invalid } = validateBatch([op, tampered, 'junk'])
    expect(valid).toHaveLength(1)
    expect(invalid.map((i) => [i.index, i.error.name])).toEqual([
      [1, 'InvalidOperationError'],
      [2, 'InvalidOperationError'],
    ])
  })

  it('keeps one append-only Automerge doc per device per day; merged copies keep the device order', () => {
    const time = new FakeTime()
    const log = device('a', time)
    const period = periodOf(time.t)
    let doc = Automerge.from<DeviceLogDoc>(newLogDoc('clinic-1' as ClinicId, log.device, period))
    const peerCopy = Automerge.clone(doc)
    const ops: Operation[] = []
    for (let i = 0; i < 5; i++) {
      ops.push(dispense(log, PARACETAMOL, LOT1, 1, { price: 50, stock: 10 - i }))
      doc = Automerge.change(doc, (d) => appendOperation(d, ops[i]!))
    }
    const merged = Automerge.merge(peerCopy, doc)
    expect(logOps(merged).map((o) => o.seq)).toEqual([1, 2, 3, 4, 5])
    expect(validateOperation(logOps(Automerge.toJS(merged))[4])).toEqual(ops[4])
    const other = device('b', time)
    const foreign = receive(other, PARACETAMOL, LOT1, 1)
    expect(() => Automerge.change(doc, (d) => appendOperation(d, foreign))).toThrow(
      expect.objectContaining({ reason: 'wrong-device' }),
    )
    time.advance(86_400_000)
    const tomorrow = dispense(log, PARACETAMOL, LOT1, 1, { price: 50, stock: 5 })
    expect(() => Automerge.change(doc, (d) => appendOperation(d, tomorrow))).toThrow(
      expect.objectContaining({ reason: 'wrong-period' }),
    )
    const next = Automerge.from<DeviceLogDoc>(
      newLogDoc('clinic-1' as ClinicId, 'dev-a' as DeviceId, periodOf(time.t)),
    )
    expect(logOps(Automerge.change(next, (d) => appendOperation(d, tomorrow)))[0]!.prev).toBe(ops[4]!.hash)
  })

  it('packs each operation as one Automerge value (schema 2) and still reads and extends a schema-1 log', () => {
    const time = new FakeTime()
    const log = device('a', time)
    const period = periodOf(time.t)
    const ops = Array.from({ length: 20 }, (_, i) =>
      dispense(log, PARACETAMOL, LOT1, 1, { price: 50, stock: 100 - i }),
    )
    let packed = Automerge.from<DeviceLogDoc>(newLogDoc('clinic-1' as ClinicId, log.device, period))
    let text = Automerge.from<DeviceLogDoc>({
      ...newLogDoc('clinic-1' as ClinicId, log.device, period),
      schema: 1,
    })
    for (const op of ops.slice(0, 10)) {
      packed = Automerge.change(packed, (d) => appendOperation(d, op))
      text = Automerge.change(text, (d) => appendOperation(d, op))
    }
    // a schema-1 log (an older device's) keeps its form when extended
    for (const op of ops.slice(10)) {
      packed = Automerge.change(packed, (d) => appendOperation(d, op))
      text = Automerge.change(text, (d) => appendOperation(d, op))
    }
    expect(logOps(packed)).toEqual(ops)
    expect(logOps(text)).toEqual(ops)
    expect(logOps(Automerge.load<DeviceLogDoc>(Automerge.save(packed)))).toEqual(ops)
    // one Automerge op per operation, against hundreds when every string is text
    const opsOf = (d: DeviceLogDoc): number => Automerge.stats(d).numOps
    expect(opsOf(packed)).toBeLessThan(80) // the 20 operations and the header fields
    expect(opsOf(text)).toBeGreaterThan(20 * 100)
  })
})
