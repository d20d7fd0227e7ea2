import type { ConflictId, OperationId } from '@clinic-mesh/contracts'
import { ClinicMeshError } from '@clinic-mesh/contracts'
import type { LedgerContext, LedgerOptions, PrescriptionState } from './apply-op.js'
import { WAIT, applyOperation } from './apply-op.js'
import type { Conflict, ConflictDraft, ConflictKind, Refusal } from './conflict.js'
import { conflictIdFor } from './conflict.js'
import { ResolutionNotApplicableError, UnknownConflictError } from './errors.js'
import type { InventoryState } from './inventory.js'
import type { Operation, OperationOf } from './operation.js'
import { CONFLICT, OpRegistry, PENDING, SETTLED } from './op-registry.js'
import { checkApproval, planDecision } from './resolve.js'
import type { Chain, Entry, EngineState } from './engine-state.js'
import { decodeEngineState, encodeEngineState } from './engine-state.js'
import type { JournalEntry } from './stock-book.js'
import { StockBook } from './stock-book.js'

export interface EngineOptions extends Partial<LedgerOptions> {
  /** Write-offs worth more than this (minor units) need a second, supervisor approver. Default 10 000. */
  readonly writeOffApprovalThreshold?: number
  /** Keep a journal of every settled stock movement (tests, audits; off for throughput). */
  readonly journal?: boolean
  /** Expected number of operations (pre-sizes the idempotency index). */
  readonly capacity?: number
}

export interface SettlementRound {
  readonly round: number
  readonly settled: OperationId[]
  readonly conflicts: Conflict[]
  readonly resolved: ConflictId[]
  readonly refused: (Refusal & { readonly conflict: ConflictId })[]
}

export interface IngestReport {
  readonly accepted: number
  readonly duplicates: number
}

export type PendingReason = 'awaiting-predecessor' | 'awaiting-transfer-out'
export interface PendingOp {
  readonly id: OperationId
  readonly device: string
  readonly seq: number
  readonly reason: PendingReason
}
export type OpStatus = 'pending' | 'settled' | 'conflict' | 'unknown'

function compareEntries(x: Entry, y: Entry): number {
  const a = x.op
  const b = y.op
  if (a.hlc.wall !== b.hlc.wall) return a.hlc.wall - b.hlc.wall
  if (a.hlc.counter !== b.hlc.counter) return a.hlc.counter - b.hlc.counter
  if (a.device !== b.device) return a.device < b.device ? -1 : 1
  return a.seq - b.seq
}

const defaultAuthority = (op: Operation): boolean => op.role === 'admin'

/**
 * The relay's incremental settlement: `ingest` operations as they arrive (any order, any number of times),
 * `settle` a round. Within a round ready operations are applied in (HLC, device, seq) order; an operation waits
 * while its chain predecessor is missing. Every operation ends settled, in conflict, or pending with a reason.
 */
export class SettlementEngine {
  readonly #s: EngineState
  readonly #threshold: number

  constructor(options: EngineOptions = {}, state?: EngineState) {
    this.#threshold = options.writeOffApprovalThreshold ?? 10_000
    const ledgerOptions: LedgerOptions = {
      prescriptionLookup: options.prescriptionLookup ?? null,
      isAuthority: options.isAuthority ?? defaultAuthority,
      distrust: options.distrust ?? null,
    }
    this.#s = state ?? {
      round: 0,
      registry: new OpRegistry(options.capacity ?? 1024),
      ctx: {
        book: new StockBook(),
        transfers: new Map(),
        prescriptions: new Map(),
        dispensed: new Map(),
        options: ledgerOptions,
      },
      chains: new Map(),
      waits: [],
      staged: [],
      conflicts: new Map(),
      rogue: new Map(),
    }
    if (state) (state.ctx as { options: LedgerOptions }).options = ledgerOptions
    if (options.journal) this.#s.ctx.book.journal = []
  }

  static restore(snapshot: Uint8Array, options: EngineOptions = {}): SettlementEngine {
    return new SettlementEngine(options, decodeEngineState(snapshot))
  }

  /** Persistable state (JSON bytes). `restore(snapshot())` continues exactly where this engine stands. */
  snapshot(): Uint8Array {
    return encodeEngineState(this.#s)
  }

  get context(): LedgerContext {
    return this.#s.ctx
  }

  /** Accept verified operations (see `validateOperation`); duplicates are counted and ignored. */
  ingest(ops: readonly Operation[]): IngestReport {
    const s = this.#s
    let accepted = 0
    let duplicates = 0
    for (const op of ops) {
      const known = s.registry.find(op.id)
      if (known >= 0) {
        if (s.registry.sameContent(known, op.hash) || s.rogue.has(op.hash)) {
          duplicates++
          continue
        }
        s.rogue.set(op.hash, conflictIdFor(op, 'idempotency-mismatch'))
        s.staged.push({
          entry: { op, idx: -1, parked: false },
          kind: 'idempotency-mismatch',
          detail: `id ${op.id} already used by other content`,
        })
        accepted++
        continue
      }
      const idx = s.registry.add(op.id, op.hash, PENDING)
      accepted++
      let chain = s.chains.get(op.device)
      if (!chain)
        s.chains.set(op.device, (chain = { seq: 0, hash: null, pending: new Map(), rejected: new Set() }))
      const entry: Entry = { op, idx, parked: false }
      if (op.seq <= chain.seq || (op.prev !== null && chain.rejected.has(op.prev))) {
        chain.rejected.add(op.hash)
        s.registry.setStatus(idx, CONFLICT)
        s.staged.push({
          entry,
          kind: 'chain-fork',
          detail: `seq ${op.seq} of ${op.device} diverges from the accepted chain`,
        })
        continue
      }
      const list = chain.pending.get(op.seq)
      if (list) list.push(entry)
      else chain.pending.set(op.seq, [entry])
    }
    return { accepted, duplicates }
  }

  /** Settle every operation whose chain predecessor has arrived; one deterministic round. */
  settle(): SettlementRound {
    const s = this.#s
    const round: SettlementRound = { round: ++s.round, settled: [], conflicts: [], resolved: [], refused: [] }
    for (const st of s.staged)
      this.#flag(st.entry, { kind: st.kind, detail: st.detail, seen: {}, authority: {} }, round)
    s.staged.length = 0
    const ready: Entry[] = []
    for (const chain of s.chains.values()) if (chain.pending.size > 0) this.#advance(chain, ready, round)
    ready.sort(compareEntries)
    for (const entry of ready) this.#process(entry, round)
    if (s.waits.length > 0) {
      const waits = s.waits.splice(0)
      for (const entry of waits) this.#process(entry, round)
    }
    return round
  }

  /**
   * Close the books before `wall` (ms): operations still waiting for a chain predecessor become `chain-gap`
   * conflicts, transfer-ins still waiting for their transfer-out become `transfer-unmatched` conflicts.
   */
  closePeriod(wall: number): SettlementRound {
    const round = this.settle()
    const s = this.#s
    for (const chain of s.chains.values()) {
      for (const list of chain.pending.values()) {
        for (const e of list) {
          if (e.parked || e.op.hlc.wall >= wall) continue
          e.parked = true
          const detail = `seq ${chain.seq + 1}..${e.op.seq - 1} of ${e.op.device} never arrived`
          this.#flag(
            e,
            { kind: 'chain-gap', detail, seen: {}, authority: { missingFrom: chain.seq + 1 } },
            round,
          )
        }
      }
    }
    s.waits = s.waits.filter((e) => {
      if (e.op.hlc.wall >= wall) return true
      this.#flag(
        e,
        {
          kind: 'transfer-unmatched',
          detail: 'no transfer-out arrived for this transfer-in',
          seen: {},
          authority: {},
        },
        round,
      )
      return false
    })
    return round
  }

  #advance(chain: Chain, ready: Entry[], round: SettlementRound): void {
    for (;;) {
      const list = chain.pending.get(chain.seq + 1)
      if (!list) return
      chain.pending.delete(chain.seq + 1)
      let chosen: Entry | null = null
      for (const e of list)
        if (e.op.prev === chain.hash && (!chosen || e.op.hash < chosen.op.hash)) chosen = e
      for (const e of list) {
        if (e === chosen) continue
        chain.rejected.add(e.op.hash)
        if (!e.parked)
          this.#flag(
            e,
            {
              kind: 'chain-fork',
              detail: `seq ${e.op.seq} of ${e.op.device} does not link to the accepted chain`,
              seen: {},
              authority: {},
            },
            round,
          )
      }
      if (!chosen) return
      chain.seq++
      chain.hash = chosen.op.hash
      if (!chosen.parked) ready.push(chosen)
    }
  }

  #process(entry: Entry, round: SettlementRound): void {
    const op = entry.op
    if (op.kind === 'resolution') {
      // a resolution the relay does not trust (unsigned, or from a device log) resolves nothing: it is raised itself
      const distrusted = this.#s.ctx.options.distrust?.(op) ?? null
      if (distrusted !== null)
        return this.#flag(entry, { kind: 'unauthorized', detail: distrusted, seen: {}, authority: {} }, round)
      this.#resolve(op, round)
      this.#s.registry.setStatus(entry.idx, SETTLED)
      round.settled.push(op.id)
      return
    }
    const outcome = applyOperation(this.#s.ctx, op)
    if (outcome === null) {
      this.#s.registry.setStatus(entry.idx, SETTLED)
      round.settled.push(op.id)
    } else if (outcome === WAIT) {
      this.#s.waits.push(entry)
    } else {
      this.#flag(entry, outcome, round)
    }
  }

  #flag(entry: Entry, draft: ConflictDraft, round: SettlementRound): void {
    const op = entry.op
    const item = 'item' in op ? op.item : null
    const critical =
      draft.kind === 'controlled-count-discrepancy' ||
      (item !== null && this.#s.ctx.book.current(item)?.controlled === true)
    const id = conflictIdFor(op, draft.kind)
    const c: Conflict = {
      ...draft,
      id,
      op,
      critical,
      round: round.round,
      status: 'open',
      resolution: null,
      refusals: [],
    }
    this.#s.conflicts.set(id, c)
    if (entry.idx >= 0) this.#s.registry.setStatus(entry.idx, CONFLICT)
    round.conflicts.push(c)
  }

  #resolve(op: OperationOf<'resolution'>, round: SettlementRound): void {
    const s = this.#s
    const c = s.conflicts.get(op.conflict)
    try {
      if (!c || c.status !== 'open') throw new UnknownConflictError(`no open conflict ${op.conflict}`)
      const plan = planDecision(s.ctx, c, op.decision)
      checkApproval(c, op, plan.writeOffValue, this.#threshold)
      if (!s.ctx.book.canApply(plan.moves))
        throw new ResolutionNotApplicableError('decision would take a lot below zero or names an unknown lot')
      plan.commit?.(s.ctx)
      for (const m of plan.moves)
        s.ctx.book.move(m.site, m.batch, m.delta, op.id, `resolution:${op.decision.action}`)
      c.status = 'resolved'
      c.resolution = {
        op: op.id,
        decision: op.decision,
        by: op.user,
        role: op.role,
        approvedBy: op.approval,
        round: round.round,
      }
      round.resolved.push(c.id)
    } catch (err) {
      if (!(err instanceof ClinicMeshError)) throw err
      const refusal = { op: op.id, error: err.name, message: err.message }
      c?.refusals.push(refusal)
      round.refused.push({ ...refusal, conflict: op.conflict })
    }
  }

  /** Where an operation stands. Pass the operation itself to tell a same-id-other-content copy apart. */
  statusOf(op: Operation | OperationId): OpStatus {
    const s = this.#s
    const id = typeof op === 'string' ? op : op.id
    const idx = s.registry.find(id)
    if (typeof op !== 'string' && idx >= 0 && !s.registry.sameContent(idx, op.hash)) {
      return s.rogue.has(op.hash) ? 'conflict' : 'unknown'
    }
    const st = idx < 0 ? 0 : s.registry.status(idx)
    return st === PENDING ? 'pending' : st === SETTLED ? 'settled' : st === CONFLICT ? 'conflict' : 'unknown'
  }

  pending(): PendingOp[] {
    const out: PendingOp[] = []
    for (const [device, chain] of this.#s.chains) {
      for (const list of chain.pending.values()) {
        for (const e of list)
          if (!e.parked) out.push({ id: e.op.id, device, seq: e.op.seq, reason: 'awaiting-predecessor' })
      }
    }
    for (const e of this.#s.waits)
      out.push({ id: e.op.id, device: e.op.device, seq: e.op.seq, reason: 'awaiting-transfer-out' })
    return out
  }

  conflicts(filter: { status?: 'open' | 'resolved'; kind?: ConflictKind } = {}): Conflict[] {
    return [...this.#s.conflicts.values()].filter(
      (c) => (!filter.status || c.status === filter.status) && (!filter.kind || c.kind === filter.kind),
    )
  }

  conflict(id: ConflictId): Conflict | undefined {
    return this.#s.conflicts.get(id)
  }

  /** Settled stock and formulary, and (when any was changed centrally) the prescriptions' statuses. */
  inventory(): InventoryState {
    const state = this.#s.ctx.book.toState()
    const rx = this.#s.ctx.prescriptions
    return rx.size === 0 ? state : { ...state, prescriptions: Object.fromEntries(rx) }
  }

  /** The central status of a prescription (undefined: never changed at the relay). */
  prescription(id: string): PrescriptionState | undefined {
    return this.#s.ctx.prescriptions.get(id)
  }

  quantity(site: string, batch: string): number {
    return this.#s.ctx.book.qty(site, batch)
  }

  journal(): readonly JournalEntry[] {
    return this.#s.ctx.book.journal ?? []
  }

  /** Number of distinct operation ids known. */
  get size(): number {
    return this.#s.registry.size
  }
}
