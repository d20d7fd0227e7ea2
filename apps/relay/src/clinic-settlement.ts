import type { ConflictId, DeviceId, LocationId, Role, UserId } from '@clinic-mesh/contracts'
import type { Operation, OperationBody, SettlementRound } from '@clinic-mesh/ledger'
import {
  DeviceLog,
  ResolutionNotApplicableError,
  type SettlementEngine,
  applicableDecisions,
  isDecisionApplicable,
  validateBatch,
  validateOperation,
} from '@clinic-mesh/ledger'
import { ConflictNotOpenError, NotSettlerError, RelayHttpError } from './errors.js'
import type { CheckpointMeta, PublishedDoc, RejectedOp, SettlementStore } from './settlement-store.js'
import { emptyMeta } from './settlement-store.js'
import { noteSeq, watermarks } from './watermarks.js'
import { WAIT, type Verdict } from './run-verifier.js'
import { countDays, daysOf } from './op-days.js'
import {
  restoreEngine,
  type FormularyInput,
  type PrescriptionStatusInput,
  type ResolutionInput,
  type ResolutionOutcome,
} from './relay-authority.js'

export type RoundListener = (round: SettlementRound) => void

/** The documents a round published, written with the next checkpoint (a fencing store) and applied once committed. */
export interface PublishedSource {
  pending(): PublishedDoc[]
  committed(docs: readonly PublishedDoc[]): void
}

const MAX_REJECTED_KEPT = 1000

/**
 * One clinic's settlement at the relay: feeds validated operations to a SettlementEngine, settles after each
 * burst (debounced), checkpoints engine + metadata through a SettlementStore. Knows nothing about automerge.
 * A follower (another relay instance settles the clinic) only shows the checkpoint it was opened from: it ingests
 * nothing, settles nothing, writes nothing.
 */
export class ClinicSettlement {
  readonly clinic: string
  readonly relayDevice: DeviceId
  readonly meta: CheckpointMeta
  #engine: SettlementEngine
  readonly #store: SettlementStore
  readonly #debounceMs: number
  #log: DeviceLog
  #timer: NodeJS.Timeout | null = null
  #saving: Promise<void> | null = null
  #dirty = false
  #listeners: RoundListener[] = []
  #closed = false
  #abandoned = false
  #published: PublishedSource | null = null
  /** false: another relay instance settles this clinic (this one shows its last checkpoint) */
  readonly settler: boolean
  /** Last checkpoint write failure (null once a write succeeds). */
  lastSaveError: string | null = null

  private constructor(
    clinic: string,
    store: SettlementStore,
    engine: SettlementEngine,
    meta: CheckpointMeta,
    debounceMs: number,
    settler: boolean,
  ) {
    this.settler = settler
    this.clinic = clinic
    this.#store = store
    this.#engine = engine
    this.meta = meta
    this.#debounceMs = debounceMs
    this.relayDevice = `relay-${clinic}` as DeviceId
    const session = { user: 'relay' as UserId, role: 'reviewer' as Role, site: 'relay' as LocationId }
    this.#log = new DeviceLog({
      device: this.relayDevice,
      session,
      ...(meta.relayHead ? { resume: meta.relayHead } : {}),
    })
  }

  static async open(
    clinic: string,
    store: SettlementStore,
    debounceMs = 50,
    role: 'settler' | 'follower' = 'settler',
  ): Promise<ClinicSettlement> {
    const cp = await store.load(clinic)
    const meta = cp?.meta ?? emptyMeta()
    meta.distrusted ??= {}
    const engine = restoreEngine(clinic, meta, cp)
    return new ClinicSettlement(clinic, store, engine, meta, debounceMs, role === 'settler')
  }

  /** A follower shows the settler's newest checkpoint (read again from the store). */
  async reloadFollower(): Promise<void> {
    if (this.settler) return
    const cp = await this.#store.load(this.clinic)
    if (!cp) return
    const meta = this.meta as unknown as Record<string, unknown>
    for (const key of Object.keys(meta)) delete meta[key]
    Object.assign(this.meta, cp.meta)
    this.meta.distrusted ??= {}
    this.#engine = restoreEngine(this.clinic, this.meta, cp)
  }

  get engine(): SettlementEngine {
    return this.#engine
  }

  onRound(fn: RoundListener): void {
    this.#listeners.push(fn)
  }

  /** Write what `source` published with each checkpoint (PostgreSQL: one fenced transaction). */
  publishVia(source: PublishedSource): void {
    this.#published = source
  }

  /** Stop at once, writing nothing more (the lease was lost: another instance settles from its checkpoint). */
  abandon(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    this.#closed = true
    this.#abandoned = true
  }

  /**
   * Read the operations of a device log document from where the last call stopped (documents are
   * append-only, single writer). Invalid entries are recorded as rejected with their reason.
   */
  ingestLog(
    logUrl: string,
    device: string,
    ops: readonly unknown[],
    verify?: (valid: readonly Operation[]) => Verdict[],
  ): number {
    if (!this.settler || this.#closed) return 0
    const from = this.meta.cursors[logUrl] ?? 0
    if (ops.length <= from) return 0
    let fresh = ops.slice(from)
    let { valid, invalid } = validateBatch(fresh)
    const verdicts = verify ? verify(valid) : []
    const waitAt = verdicts.indexOf(WAIT)
    if (waitAt >= 0) {
      // keys for this op are not here yet (register or membership still syncing): stop before it, read it again later
      const cut = fresh.indexOf(valid[waitAt])
      fresh = fresh.slice(0, cut)
      valid = valid.slice(0, waitAt)
      invalid = invalid.filter((bad) => bad.index < cut)
    }
    const at = new Date().toISOString()
    for (const bad of invalid) {
      this.#reject({
        log: logUrl,
        index: from + bad.index,
        device,
        reason: bad.error.reason,
        field: bad.error.field,
        message: bad.error.message,
        at,
      })
    }
    const accepted: Operation[] = []
    for (const [i, op] of valid.entries()) {
      // the relay's own log id carries the central office's formulary entries: no device log may take it
      if (device === this.relayDevice) {
        const message = `${device} is the relay's own log; a device log may not use that id`
        this.#reject({
          log: logUrl,
          index: from + fresh.indexOf(op),
          device,
          reason: 'reserved-device',
          field: 'device',
          message,
          at,
        })
        continue
      }
      if (op.device !== device) {
        const message = `operation of ${op.device} in the log of ${device}`
        this.#reject({
          log: logUrl,
          index: from + fresh.indexOf(op),
          device,
          reason: 'wrong-device',
          field: 'device',
          message,
          at,
        })
        continue
      }
      const distrust = verdicts[i]
      if (typeof distrust === 'string') (this.meta.distrusted ??= {})[op.hash] = distrust
      accepted.push(op)
    }
    this.meta.cursors[logUrl] = from + fresh.length
    this.#ingest(accepted)
    this.#schedule()
    return accepted.length
  }

  #ingest(ops: readonly Operation[]): void {
    // operations new to the engine, per day of their device time (the console's conflicts per 100 operations);
    // resolutions are the relay's own and not counted
    const fresh = ops.filter((op) => op.kind !== 'resolution' && this.#engine.statusOf(op.id) === 'unknown')
    this.#engine.ingest(ops)
    for (const op of ops) noteSeq(this.meta.devices, op.device, op.seq)
    countDays(this.meta, fresh)
  }

  /** Operations and conflicts per day (device time of the operations), oldest first. */
  days(): { day: string; operations: number; conflicts: number }[] {
    return daysOf(this.meta, this.#engine.conflicts())
  }

  #reject(r: RejectedOp): void {
    this.meta.rejectedTotal++
    this.meta.rejected.push(r)
    if (this.meta.rejected.length > MAX_REJECTED_KEPT) this.meta.rejected.shift()
  }

  #schedule(): void {
    if (this.#timer || this.#closed) return
    this.#timer = setTimeout(() => {
      this.#timer = null
      this.settleNow()
    }, this.#debounceMs)
  }

  /** One settlement round now; listeners publish it, then a checkpoint is written. */
  settleNow(): SettlementRound {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    const round = this.#engine.settle()
    this.meta.settledOps += round.settled.length
    this.meta.decidedOps += round.settled.length + round.conflicts.length
    this.meta.lastSettledAt = new Date().toISOString()
    for (const fn of this.#listeners) fn(round)
    this.requestSave().catch((err: unknown) => {
      // kept for /api/status; the next round retries the write
      this.lastSaveError = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
    })
    return round
  }

  watermarks(): Record<string, number> {
    return watermarks(this.meta.devices, this.#engine.pending())
  }

  /** Build a resolution operation in the relay's own log, settle it, report whether the ledger accepted it. */
  resolve(conflictId: ConflictId, input: ResolutionInput): ResolutionOutcome {
    if (!this.settler || this.#closed) throw new NotSettlerError(this.clinic)
    const c = this.#engine.conflict(conflictId)
    if (!c)
      throw new RelayHttpError(
        'UnknownConflictError',
        404,
        `no conflict ${conflictId} in clinic ${this.clinic}`,
      )
    if (c.status !== 'open') throw new ConflictNotOpenError(conflictId)
    // the one table of decisions per conflict kind (ledger decisions.ts): refused before anything is recorded
    if (!isDecisionApplicable(c.kind, c.op.kind, input.decision.action))
      throw new ResolutionNotApplicableError(
        `${input.decision.action} does not apply to a ${c.kind} on a ${c.op.kind}; it may be: ${applicableDecisions(c.kind, c.op.kind).join(', ')}`,
      )
    const { op, round } = this.#appendOwn(input, c.op.site, {
      kind: 'resolution',
      conflict: conflictId,
      decision: input.decision,
      note: input.note,
      approval: input.approval,
    })
    const conflict = this.#engine.conflict(conflictId) ?? c
    const refusal = round.refused.find((r) => r.op === op.id)
    if (refusal)
      return {
        outcome: 'refused',
        conflict,
        operation: op,
        error: { name: refusal.error, message: refusal.message },
      }
    return { outcome: 'resolved', conflict, operation: op }
  }

  /**
   * A formulary entry from the central office: a `formulary-update` operation in the relay's own log under the
   * signed-in user and role, settled at once. Returns the operation and the entry as now settled (null: refused).
   */
  updateFormulary(input: FormularyInput): { operation: Operation; settled: boolean } {
    if (!this.settler || this.#closed) throw new NotSettlerError(this.clinic)
    const { op, round } = this.#appendOwn(input, 'relay' as LocationId, {
      kind: 'formulary-update',
      item: input.item,
      name: input.name,
      price: input.price,
      status: input.status,
      controlled: input.controlled,
    })
    return { operation: op, settled: round.settled.includes(op.id) }
  }

  /**
   * A prescription's central status (on hold, released, cancelled): a `prescription-status` operation in the relay's
   * own log under the signed-in clinician or pharmacist, settled at once; devices receive it in the signed settled
   * inventory. Returns the operation and whether the ledger settled it.
   */
  setPrescriptionStatus(input: PrescriptionStatusInput): { operation: Operation; settled: boolean } {
    if (!this.settler || this.#closed) throw new NotSettlerError(this.clinic)
    const { op, round } = this.#appendOwn(input, 'relay' as LocationId, {
      kind: 'prescription-status',
      prescription: input.prescription,
      signedHash: input.signedHash,
      status: input.status,
      reason: input.reason,
    })
    return { operation: op, settled: round.settled.includes(op.id) }
  }

  /**
   * An operation in the relay's own log under a signed-in user, ingested and settled at once. Built on a copy of the
   * chain head: an operation that fails validation consumes no seq.
   */
  #appendOwn(
    by: { readonly user: UserId; readonly role: Role },
    site: LocationId,
    body: OperationBody,
  ): { op: Operation; round: SettlementRound } {
    const log = new DeviceLog({
      device: this.relayDevice,
      session: { user: by.user, role: by.role, site },
      resume: this.#log.head(),
    })
    const op = validateOperation(log.append(body))
    this.#log = log
    this.meta.relayHead = log.head()
    this.#ingest([op])
    return { op, round: this.settleNow() }
  }

  /** Write a checkpoint; calls made while one is being written coalesce into one more write. */
  requestSave(): Promise<void> {
    if (!this.settler || this.#abandoned) return Promise.resolve()
    if (this.#saving) {
      this.#dirty = true
      return this.#saving
    }
    this.#saving = (async () => {
      do {
        this.#dirty = false
        const published = this.#published?.pending() ?? []
        await this.#store.save(
          this.clinic,
          { meta: structuredClone(this.meta), engine: this.#engine.snapshot() },
          published,
        )
        this.#published?.committed(published)
      } while (this.#dirty)
      this.lastSaveError = null
    })().finally(() => {
      this.#saving = null
    })
    return this.#saving
  }

  /** Settle anything waiting and write the final checkpoint. */
  async close(): Promise<void> {
    if (!this.settler || this.#closed) return
    if (this.#timer) this.settleNow()
    this.#closed = true
    if (this.#saving) await this.#saving
    await this.requestSave()
  }
}
