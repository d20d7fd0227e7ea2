import type { BatchId, ConflictId, DeviceId, ItemId, OperationId, UserId } from '@clinic-mesh/contracts'
import type {
  Conflict,
  Decision,
  DeviceLogDoc,
  JournalEntry,
  OperationBody,
  Session,
} from '@clinic-mesh/ledger'
import { appendOperation, DeviceLog, logOps, SettlementEngine, validateBatch } from '@clinic-mesh/ledger'
import type { ChartCollection } from '@clinic-mesh/records'
import { needsReview, resolveReview } from '@clinic-mesh/records'
import { SITE } from './device.js'
import type { Env } from './device.js'
import { bucketDocs, knowledgeOf, logDocs } from './knowledge.js'
import type { Replica } from './replica.js'

export const ITEMS = ['amoxicillin-500', 'paracetamol-500', 'morphine-10'] as const
const admin: Session = { user: 'usr-admin' as UserId, role: 'admin', site: SITE }
const reviewer: Session = { user: 'usr-reviewer' as UserId, role: 'reviewer', site: SITE }
const supervisor = { user: 'usr-supervisor' as UserId, role: 'supervisor' as const }

/**
 * The relay: a replica of every document plus the settlement engine. Its own log carries the authority's
 * formulary updates and the reviewer's resolutions. The engine snapshot and the settled journal are persisted
 * together at acknowledged points; a crash resumes from them and re-ingests every log (duplicates are ignored).
 */
export class RelayNode {
  readonly replica: Replica
  readonly env: Env
  engine = new SettlementEngine({ journal: true })
  /** Journal entries of engines before the last restore (the engine's own journal starts empty on restore). */
  #journal: JournalEntry[] = []
  #saved: { snapshot: Uint8Array; journal: JournalEntry[] } | null = null
  #cursors = new Map<string, { n: number; last: string }>()
  readonly #targeted = new Set<ConflictId>()
  readonly invalid: string[] = []
  rounds = 0
  #log: DeviceLog

  constructor(env: Env, replica: Replica) {
    this.env = env
    this.replica = replica
    this.#log = this.#resume()
  }

  /** Genesis: the formulary, written before any device starts (initial contents of the relay's log). */
  static genesisOps(): OperationBody[] {
    return ITEMS.map((item, i) => ({
      kind: 'formulary-update',
      item: item as ItemId,
      name: item,
      price: 100 + 50 * i,
      status: 'active',
      controlled: item.startsWith('morphine'),
    }))
  }

  get journal(): JournalEntry[] {
    return [...this.#journal, ...this.engine.journal()]
  }

  #resume(): DeviceLog {
    const ops = logOps(this.replica.doc<DeviceLogDoc>('log-relay'))
    const last = ops[ops.length - 1]
    const resume = last ? { seq: last.seq, prev: last.hash, hlc: { ...last.hlc } } : undefined
    return new DeviceLog({ device: 'relay' as DeviceId, session: reviewer, now: this.env.time, resume })
  }

  restart(): void {
    this.replica.restart()
    this.#log = this.#resume()
    this.engine = this.#saved
      ? SettlementEngine.restore(this.#saved.snapshot, { journal: true })
      : new SettlementEngine({ journal: true })
    this.#journal = this.#saved ? [...this.#saved.journal] : []
    this.#cursors = new Map()
  }

  /** Persist the engine (acknowledged settlement state). */
  persist(): void {
    this.#saved = { snapshot: this.engine.snapshot(), journal: this.journal }
  }

  #append(body: OperationBody, session: Session): void {
    const k = knowledgeOf(this.replica)
    if (k.latest) this.#log.observe(k.latest)
    this.#log.setSession(session)
    const op = this.#log.append(body, this.env.ids.next('op') as OperationId)
    this.replica.change<DeviceLogDoc>('log-relay', this.env.time(), (d) => {
      appendOperation(d, op)
      return [{ kind: 'op', doc: 'log-relay', key: op.id, replica: 'relay' }]
    })
  }

  /** Ingest what the logs gained since the last round (validated at the boundary) and settle one round. */
  settleRound(): void {
    // Persist before settling: an operation of our own log the engine has seen must survive a crash, or the
    // restarted log would reissue its sequence number (a chain fork).
    this.env.world.flush(this.replica.index)
    for (const [id, doc] of logDocs(this.replica)) {
      const ops = logOps(doc)
      let cur = this.#cursors.get(id) ?? { n: 0, last: '' }
      if (cur.n > ops.length || (cur.n > 0 && ops[cur.n - 1]!.id !== cur.last)) cur = { n: 0, last: '' }
      if (cur.n === ops.length) continue
      const { valid, invalid } = validateBatch(ops.slice(cur.n))
      for (const bad of invalid) this.invalid.push(`${id}[${cur.n + bad.index}]: ${bad.error.message}`)
      this.engine.ingest(valid)
      this.#cursors.set(id, { n: ops.length, last: ops[ops.length - 1]!.id })
    }
    this.engine.settle()
    this.rounds++
  }

  /** The authority changes a price (devices that have not seen it will dispense at the old one). */
  changePrice(): void {
    const rng = this.env.rng
    const item = rng.pick(ITEMS)!
    this.#append(
      {
        kind: 'formulary-update',
        item: item as ItemId,
        name: item,
        price: rng.range(80, 300),
        status: 'active',
        controlled: item.startsWith('morphine'),
      },
      admin,
    )
  }

  /** A reviewer decides one open conflict not decided yet. */
  review(): void {
    const rng = this.env.rng
    const open = this.engine.conflicts({ status: 'open' }).filter((c) => !this.#targeted.has(c.id))
    const c = rng.pick(open.sort((a, b) => (a.id < b.id ? -1 : 1)))
    if (!c) return
    this.#targeted.add(c.id)
    const decision = this.#decide(c)
    const approval =
      c.critical || decision.action === 'write-off' ? (rng.chance(0.9) ? supervisor : null) : null
    this.#append({ kind: 'resolution', conflict: c.id, decision, note: `sim ${c.kind}`, approval }, reviewer)
  }

  #decide(c: Conflict): Decision {
    const op = c.op
    const rng = this.env.rng
    if (op.kind === 'dispense' && (c.kind === 'insufficient-stock' || c.kind === 'batch-expired')) {
      const inv = this.engine.inventory()
      const lots = Object.entries(inv.stock[op.site] ?? {}).filter(
        ([b, q]) =>
          b !== op.batch &&
          q >= op.quantity &&
          inv.batches[b as BatchId]?.item === op.item &&
          inv.batches[b as BatchId]!.expiry > '2026-03-02',
      )
      const alt = rng.pick(lots.map(([b]) => b).sort())
      if (alt && rng.chance(0.6)) return { action: 'switch-lot', batch: alt as BatchId }
      const stock = c.authority.stock ?? 0
      if (c.kind === 'insufficient-stock' && stock > 0 && rng.chance(0.7))
        return { action: 'partial-dispense', quantity: Math.min(stock, op.quantity) }
      return { action: 'cancel' }
    }
    if (op.kind === 'dispense' && c.kind === 'price-changed')
      return rng.chance(0.8) ? { action: 'accept', adjustment: null } : { action: 'cancel' }
    if (
      op.kind === 'count' &&
      c.kind === 'count-discrepancy' &&
      (c.authority.stock ?? 0) > op.counted &&
      rng.chance(0.7)
    ) {
      return { action: 'write-off', batch: op.batch, quantity: (c.authority.stock ?? 0) - op.counted }
    }
    return { action: 'cancel' }
  }

  /** A reviewer clears one chart review marker (concurrent allergy severities) by keeping the shown value. */
  reviewChart(): void {
    const rng = this.env.rng
    const buckets = bucketDocs(this.replica)
    const pick = rng.pick(buckets)
    if (!pick) return
    const [id, doc] = pick
    const marker = rng.pick(needsReview(doc))
    if (!marker || typeof marker.winner !== 'string') return
    const value = marker.winner
    const actor = {
      user: reviewer.user,
      device: 'relay' as DeviceId,
      at: new Date(this.env.time()).toISOString(),
    }
    this.replica.change<ChartCollection>(id, this.env.time(), (d) => {
      resolveReview(d, marker, value, actor)
      return []
    })
  }

  /** End of the day: settle what arrived, then close the period (waiting operations become conflicts). */
  close(wall: number): void {
    this.settleRound()
    this.engine.closePeriod(wall)
    this.persist()
  }
}
