import type { OperationId } from '@clinic-mesh/contracts'
import type { ChartCollection } from '@clinic-mesh/records'
import type { Conflict, DeviceLogDoc, Operation } from '@clinic-mesh/ledger'
import { compareHlc, logOps } from '@clinic-mesh/ledger'
import type { RelayNode } from './relay.js'
import type { Replica, Write } from './replica.js'

export type ViolationKind =
  | 'divergence'
  | 'runtime-error'
  | 'unsettled-op'
  | 'ledger-integrity'
  | 'double-settle'
  | 'negative-stock'
  | 'conservation'
  | 'lost-ack'

export interface Violation {
  readonly kind: ViolationKind
  readonly detail: string
}

export interface CheckInput {
  readonly replicas: readonly Replica[]
  readonly relay: RelayNode
  readonly acked: readonly Write[]
  readonly errors: readonly string[]
}

const INTEGRITY = new Set(['chain-fork', 'chain-gap', 'idempotency-mismatch'])
const cell = (site: string, batch: string): string => `${site}|${batch}`

/** Every replica holds the same history of every document. */
function convergence(input: CheckInput, out: Violation[]): void {
  const [first, ...rest] = input.replicas
  if (!first) return
  for (const id of first.docIds()) {
    const heads = first.heads(id)
    for (const r of rest)
      if (r.heads(id) !== heads)
        out.push({ kind: 'divergence', detail: `${id}: ${r.name} differs from ${first.name}` })
  }
}

/** Stock effect of a settled operation or of the resolution that decided a conflict. */
function effect(
  op: Operation,
  resolved: Map<string, Conflict>,
  add: (site: string, batch: string, delta: number) => void,
): void {
  switch (op.kind) {
    case 'receive':
    case 'return':
    case 'transfer-in':
      return add(op.site, op.batch, op.quantity)
    case 'transfer-out':
      return add(op.site, op.batch, -op.quantity)
    case 'dispense':
      if (op.batch) add(op.site, op.batch, -op.quantity)
      return
    case 'adjustment-request':
      return add(op.site, op.batch, op.delta)
    case 'resolution': {
      const c = resolved.get(op.id)
      if (!c) return
      const d = c.resolution!.decision
      const target = c.op
      if (d.action === 'write-off') add(target.site, d.batch, -d.quantity)
      else if (d.action === 'switch-lot' && target.kind === 'dispense')
        add(target.site, d.batch, -target.quantity)
      else if (d.action === 'partial-dispense' && target.kind === 'dispense' && target.batch)
        add(target.site, target.batch, -d.quantity)
      else if (d.action === 'accept') {
        if (d.adjustment) add(target.site, d.adjustment.batch, d.adjustment.delta)
        if (target.kind !== 'count') effect(target, resolved, add)
      }
      return
    }
    default:
      return
  }
}

function ledger(input: CheckInput, out: Violation[]): void {
  const { relay } = input
  const engine = relay.engine
  const ops = new Map<string, Operation>()
  for (const id of relay.replica.docIds().filter((d) => d.startsWith('log-'))) {
    for (const op of logOps(relay.replica.doc<DeviceLogDoc>(id))) ops.set(op.id, op)
  }
  for (const id of relay.replica.docIds().filter((d) => d.startsWith('log-'))) {
    // Each device's log is one chain: seq 1..k, each op linking the previous hash, HLC strictly increasing.
    let prev: Operation | null = null
    for (const op of logOps(relay.replica.doc<DeviceLogDoc>(id))) {
      const ok = prev
        ? op.seq === prev.seq + 1 && op.prev === prev.hash && compareHlc(op.hlc, prev.hlc) > 0
        : op.seq === 1 && op.prev === null
      if (!ok)
        out.push({
          kind: 'ledger-integrity',
          detail: `${id}: ${op.id} (seq ${op.seq}) does not continue the chain or goes back in HLC time`,
        })
      prev = op
    }
  }
  for (const op of ops.values()) {
    const st = engine.statusOf(op)
    if (st !== 'settled' && st !== 'conflict')
      out.push({
        kind: 'unsettled-op',
        detail: `${op.id} (${op.kind} of ${op.device} seq ${op.seq}) is ${st}`,
      })
  }
  for (const p of engine.pending())
    out.push({ kind: 'unsettled-op', detail: `${p.id} pending after closePeriod: ${p.reason}` })
  if (engine.size !== ops.size)
    out.push({ kind: 'unsettled-op', detail: `engine knows ${engine.size} ids, logs hold ${ops.size}` })
  const conflicts = engine.conflicts()
  for (const c of conflicts)
    if (INTEGRITY.has(c.kind))
      out.push({ kind: 'ledger-integrity', detail: `${c.kind} on ${c.op.id}: ${c.detail}` })

  const resolved = new Map<string, Conflict>()
  for (const c of conflicts) if (c.status === 'resolved' && c.resolution) resolved.set(c.resolution.op, c)
  const expected = new Map<string, number>()
  const add = (site: string, batch: string, delta: number): void =>
    void expected.set(cell(site, batch), (expected.get(cell(site, batch)) ?? 0) + delta)
  for (const op of ops.values()) if (engine.statusOf(op) === 'settled') effect(op, resolved, add)

  // The journal: each movement applied once, never below zero, and summing to the settled figure.
  const seen = new Set<string>()
  const running = new Map<string, number>()
  for (const e of input.relay.journal) {
    const op = ops.get(e.op)
    if (!op || engine.statusOf(op) !== 'settled')
      out.push({
        kind: 'double-settle',
        detail: `journal moves ${e.batch} for ${e.op}, which is not settled`,
      })
    if (op && op.kind !== 'resolution' && seen.has(e.op))
      out.push({ kind: 'double-settle', detail: `${e.op} moved stock twice` })
    seen.add(e.op)
    const q = (running.get(cell(e.site, e.batch)) ?? 0) + e.delta
    running.set(cell(e.site, e.batch), q)
    if (q < 0)
      out.push({
        kind: 'negative-stock',
        detail: `${e.batch} at ${e.site} went to ${q} (${e.cause} ${e.op})`,
      })
  }
  const inv = engine.inventory()
  const actual = new Map<string, number>()
  for (const [site, lots] of Object.entries(inv.stock))
    for (const [batch, q] of Object.entries(lots)) actual.set(cell(site, batch), q)
  for (const k of new Set([...actual.keys(), ...expected.keys(), ...running.keys()])) {
    const a = actual.get(k) ?? 0
    if (a < 0) out.push({ kind: 'negative-stock', detail: `${k} settled at ${a}` })
    if (a !== (expected.get(k) ?? 0))
      out.push({
        kind: 'conservation',
        detail: `${k}: settled ${a}, operations imply ${expected.get(k) ?? 0}`,
      })
    if (a !== (running.get(k) ?? 0))
      out.push({ kind: 'conservation', detail: `${k}: settled ${a}, journal sums to ${running.get(k) ?? 0}` })
  }
}

/** Every acknowledged write is present on every replica (and, for operations, known to the engine). */
function acknowledged(input: CheckInput, out: Violation[]): void {
  for (const r of input.replicas) {
    const opIds = new Map<string, Set<string>>()
    for (const w of input.acked) {
      let present: boolean
      if (w.kind === 'op') {
        let ids = opIds.get(w.doc)
        if (!ids) opIds.set(w.doc, (ids = new Set(logOps(r.doc<DeviceLogDoc>(w.doc)).map((o) => o.id))))
        present = ids.has(w.key)
      } else {
        const [pid, eid, vid] = w.key.split('/') as [string, string?, string?]
        const chart = r.doc<ChartCollection>(w.doc).charts[pid]
        present = w.kind === 'patient' ? !!chart : !!chart?.encounters[eid ?? '']?.triage.vitals[vid ?? '']
      }
      if (!present)
        out.push({
          kind: 'lost-ack',
          detail: `${w.kind} ${w.key} acknowledged by ${w.replica} is missing on ${r.name}`,
        })
    }
  }
  for (const w of input.acked) {
    if (w.kind === 'op' && input.relay.engine.statusOf(w.key as OperationId) === 'unknown') {
      out.push({
        kind: 'lost-ack',
        detail: `op ${w.key} acknowledged by ${w.replica} is unknown to the relay`,
      })
    }
  }
}

/** All invariants, after heal + quiescence + closePeriod. An empty list means the seed passed. */
export function checkInvariants(input: CheckInput): Violation[] {
  const out: Violation[] = []
  for (const e of input.errors) out.push({ kind: 'runtime-error', detail: e })
  for (const e of input.relay.invalid) out.push({ kind: 'runtime-error', detail: `invalid op ${e}` })
  convergence(input, out)
  ledger(input, out)
  acknowledged(input, out)
  return out
}
