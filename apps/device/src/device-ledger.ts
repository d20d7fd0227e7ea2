import type { AutomergeUrl, DocHandle, Repo } from '@automerge/automerge-repo'
import type {
  ClinicDirectoryDoc,
  ClinicId,
  ConflictQueueDoc,
  ConflictQueueEntry,
  DeviceId,
  DocUrl,
  LocationId,
  OperationId,
  SettledInventoryDoc,
} from '@clinic-mesh/contracts'
import { canonicalJson } from '@clinic-mesh/contracts'
import {
  appendOperation,
  type ChainHead,
  DeviceLog,
  type DeviceLogDoc,
  EMPTY_INVENTORY,
  type InventoryState,
  logOps,
  newLogDoc,
  type Operation,
  type OperationBody,
  periodOf,
  type PrescriptionStatusState,
  project,
  type Projection,
  type Session,
  unitsAfterDecision,
  validateOperation,
  verifyConflictQueue,
  verifySettledInventory,
} from '@clinic-mesh/ledger'
import { findDoc } from '@clinic-mesh/store'
import { IdempotencyConflictError } from './errors.js'
import { signLatestRun, type RunSigner } from './run-signer.js'
import { log } from './log.js'
import { conflictOutcome, parseConflictEntries } from './conflict-outcome.js'

const HEADER = new Set(['v', 'id', 'device', 'user', 'role', 'site', 'hlc', 'seq', 'prev', 'hash'])

function bodyOf(op: Operation | OperationBody): string {
  return canonicalJson(Object.fromEntries(Object.entries(op).filter(([k]) => !HEADER.has(k))))
}

export interface StockView extends Projection {
  settledAt: string | null
  items: InventoryState['items']
  unsettledOps: number
  /** The settled figures come from a settled inventory signed by the pinned relay key (false: none verified yet). */
  settledVerified: boolean
  /** The relay's version of the settled inventory shown (null: none verified). */
  settledVersion: number | null
  /** Why the settled inventory document as it is now was not believed (the figures shown are the last verified ones). */
  settledRejected: string | null
}

/** Whom the settled inventory must come from: the relay key this device pinned (none yet: nothing is believed). */
export interface SettledTrust {
  readonly clinic: string
  relayKey(): string | undefined
}

/** The content of a settled inventory that verified. */
interface VerifiedSettled {
  readonly version: number
  readonly settledAt: string
  readonly watermarks: Readonly<Record<string, number>>
  readonly state: string
}

/**
 * The device's side of the ledger: one hash chain (DeviceLog) whose operations go into this device's log document
 * of the operation's period, each listed in the clinic directory. The chain head is re-derived from those
 * documents at start, so nothing acknowledged is lost across a crash. Appends are serialised.
 */
export class DeviceLedger {
  readonly #repo: Repo
  readonly #dir: DocHandle<ClinicDirectoryDoc>
  readonly #device: DeviceId
  readonly #site: LocationId
  readonly #logs = new Map<string, Promise<DocHandle<DeviceLogDoc> | undefined>>()
  readonly #byId = new Map<string, Operation>()
  #log: DeviceLog
  #queue: Promise<unknown> = Promise.resolve()
  readonly #trust: SettledTrust | undefined
  /** The last settled inventory that verified (memory only: after a restart the document must verify again). */
  #verified: VerifiedSettled | undefined
  #rejected: string | null = null

  private constructor(
    repo: Repo,
    dir: DocHandle<ClinicDirectoryDoc>,
    device: DeviceId,
    site: LocationId,
    head: ChainHead | undefined,
    trust: SettledTrust | undefined,
  ) {
    this.#trust = trust
    this.#repo = repo
    this.#dir = dir
    this.#device = device
    this.#site = site
    this.#log = this.#newLog(head)
  }

  /** `trust`: the relay key the settled inventory must be signed with (omitted: the document is believed as is — tools and tests only). */
  static async open(
    repo: Repo,
    dir: DocHandle<ClinicDirectoryDoc>,
    device: DeviceId,
    site: LocationId,
    trust?: SettledTrust,
  ): Promise<DeviceLedger> {
    const ledger = new DeviceLedger(repo, dir, device, site, undefined, trust)
    let last: Operation | undefined
    for (const url of Object.values(dir.doc().ledgerLogs[device] ?? {})) {
      const h = await ledger.#logDoc(url)
      for (const op of h ? logOps(h.doc()) : []) {
        ledger.#byId.set(op.id, op)
        if (!last || op.seq > last.seq) last = op
      }
    }
    if (last) ledger.#log = ledger.#newLog({ seq: last.seq, prev: last.hash, hlc: last.hlc })
    return ledger
  }

  get head(): ChainHead {
    return this.#log.head()
  }

  #newLog(resume: ChainHead | undefined): DeviceLog {
    const session: Session = { user: 'usr_demo' as Session['user'], role: 'pharmacist', site: this.#site }
    return new DeviceLog({ device: this.#device, session, ...(resume ? { resume } : {}) })
  }

  #logDoc(url: string): Promise<DocHandle<DeviceLogDoc> | undefined> {
    let p = this.#logs.get(url)
    if (!p) {
      p = findDoc<DeviceLogDoc>(this.#repo, url as AutomergeUrl, {
        signal: AbortSignal.timeout(30_000),
      }).catch(() => {
        this.#logs.delete(url) // not reachable yet: ask again next time
        return undefined
      })
      this.#logs.set(url, p)
    }
    return p
  }

  /**
   * Appends one operation (idempotent on `id`: the same id with the same content returns the recorded op, with
   * other content throws IdempotencyConflictError) and resolves once it is in the repo and flushed to storage.
   */
  append(
    id: OperationId,
    body: OperationBody,
    session: Omit<Session, 'site'>,
    signer?: RunSigner,
  ): Promise<{ op: Operation; duplicate: boolean }> {
    const run = this.#queue.then(() => this.#append(id, body, session, signer))
    this.#queue = run.catch(() => undefined)
    return run
  }

  async #append(
    id: OperationId,
    body: OperationBody,
    session: Omit<Session, 'site'>,
    signer: RunSigner | undefined,
  ): Promise<{ op: Operation; duplicate: boolean }> {
    const known = this.#byId.get(id)
    if (known) {
      if (bodyOf(known) !== bodyOf(body))
        throw new IdempotencyConflictError(`operation ${id} was recorded with other content`)
      return { op: known, duplicate: true }
    }
    this.#log.setSession({ ...session, site: this.#site })
    const before = this.#log.head()
    let op: Operation
    try {
      op = validateOperation(this.#log.append(body, id))
    } catch (err) {
      this.#log = this.#newLog(before)
      throw err
    }
    try {
      const period = periodOf(op.hlc.wall)
      const handle = await this.#periodDoc(period)
      handle.change((d) => {
        appendOperation(d, op)
        if (signer) signLatestRun(d, op, signer)
      })
      await this.#repo.flush([handle.documentId, this.#dir.documentId])
    } catch (err) {
      this.#log = this.#newLog(before) // the op was not recorded: the chain continues from the last recorded one
      throw err
    }
    this.#byId.set(op.id, op)
    return { op, duplicate: false }
  }

  async #periodDoc(period: string): Promise<DocHandle<DeviceLogDoc>> {
    const listed = this.#dir.doc().ledgerLogs[this.#device]?.[period]
    if (listed) {
      const h = await this.#logDoc(listed)
      if (h) return h
    }
    const dir = this.#dir.doc()
    const handle = this.#repo.create<DeviceLogDoc>(newLogDoc(dir.clinic as ClinicId, this.#device, period))
    const url = handle.url as string as DocUrl
    this.#dir.change((d) => {
      d.ledgerLogs[this.#device] ??= {}
      const mine = d.ledgerLogs[this.#device]
      if (mine) mine[period] = url
    })
    this.#logs.set(url, Promise.resolve(handle))
    return handle
  }

  async #settledDoc(): Promise<SettledInventoryDoc | undefined> {
    const url = this.#dir.doc().settlement.inventory
    if (!url) return undefined
    try {
      const h = await findDoc<SettledInventoryDoc>(this.#repo, url as string as AutomergeUrl, {
        signal: AbortSignal.timeout(300),
      })
      return h.doc()
    } catch {
      return undefined
    }
  }

  /**
   * The settled inventory as this device believes it: the document when it verifies under the pinned relay key with
   * a version not lower than the last verified one; otherwise the last verified content (none: never settled). Any
   * member can write the document (a nurse's browser, a stolen tablet), so nothing unsigned reaches stock figures,
   * the "last confirmed" time or the knowledge-base age offline signing checks.
   */
  async #settled(): Promise<VerifiedSettled | undefined> {
    const doc = await this.#settledDoc()
    if (!doc) return this.#verified
    const trust = this.#trust
    if (!trust)
      return {
        version: doc.relaySignature?.version ?? 0,
        settledAt: doc.settledAt,
        watermarks: doc.watermarks,
        state: String(doc.state), // a scalar (ImmutableString) since relays publish it as one, text before
      }
    const relayKey = trust.relayKey()
    if (relayKey === undefined) {
      this.#reject('no relay key pinned yet: this device has not registered with the relay')
      return this.#verified
    }
    const plain = JSON.parse(JSON.stringify(doc)) as SettledInventoryDoc
    const check = verifySettledInventory(plain, {
      relayKey,
      clinic: trust.clinic,
      minVersion: this.#verified?.version ?? 0,
    })
    if (!check.ok) {
      this.#reject(`${check.reason}: ${check.detail}`)
      return this.#verified
    }
    if (this.#verified?.version !== check.version) {
      this.#verified = {
        version: check.version,
        settledAt: plain.settledAt,
        watermarks: plain.watermarks,
        state: plain.state,
      }
    }
    this.#rejected = null
    return this.#verified
  }

  #reject(reason: string): void {
    if (this.#rejected !== reason)
      log('settled-inventory-unverified', { reason, fallbackVersion: this.#verified?.version ?? null })
    this.#rejected = reason
  }

  /** Every operation of every device log this node holds that the relay has not decided yet. */
  async unsettled(watermarks: { [device: string]: number }): Promise<Operation[]> {
    const out: Operation[] = []
    for (const [device, periods] of Object.entries(this.#dir.doc().ledgerLogs)) {
      const mark = watermarks[device] ?? 0
      const handles = await Promise.all(
        Object.values(periods).map((u) => Promise.race([this.#logDoc(u), wait(300)])),
      )
      for (const h of handles) for (const op of h ? logOps(h.doc()) : []) if (op.seq > mark) out.push(op)
    }
    return out
  }

  /** Every operation of every device log this node holds, each with whether the relay decided it (verified watermarks). */
  async operations(): Promise<{ op: Operation; decided: boolean }[]> {
    const marks = (await this.#settled())?.watermarks ?? {}
    return (await this.unsettled({})).map((op) => ({ op, decided: op.seq <= (marks[op.device] ?? 0) }))
  }

  /** The site (location) this device records stock at. */
  get site(): LocationId {
    return this.#site
  }

  /** The device whose log this ledger appends to. */
  get device(): DeviceId {
    return this.#device
  }

  /**
   * The relay's conflict queue entries (parsed with the contracts schema), when it verifies under the pinned relay key;
   * none while it is not here or does not verify. `verified` says whether a pinned key vouched for them.
   */
  async conflictEntries(): Promise<{ verified: boolean; entries: ConflictQueueEntry[] }> {
    const url = this.#dir.doc().settlement.conflicts
    if (!url) return { verified: false, entries: [] }
    let doc: ConflictQueueDoc
    try {
      const h = await findDoc<ConflictQueueDoc>(this.#repo, url as string as AutomergeUrl, {
        signal: AbortSignal.timeout(300),
      })
      doc = JSON.parse(JSON.stringify(h.doc())) as ConflictQueueDoc
    } catch {
      return { verified: false, entries: [] } // not here yet: nothing decided as far as this node knows
    }
    const entries = () => parseConflictEntries(Object.values(doc.conflicts ?? {}))
    if (!this.#trust) return { verified: false, entries: entries() }
    const relayKey = this.#trust.relayKey()
    if (relayKey === undefined || !verifyConflictQueue(doc, { relayKey, clinic: this.#trust.clinic }).ok)
      return { verified: false, entries: [] }
    return { verified: true, entries: entries() }
  }

  /**
   * Dispenses whose conflict the relay resolved, with the units its decision left handed out (operation id → units),
   * from the conflict queue when it verifies under the pinned relay key (else none: every dispense counts in full).
   */
  async dispenseDecisions(): Promise<Map<string, number>> {
    const out = new Map<string, number>()
    for (const c of (await this.conflictEntries()).entries) {
      const { decision } = conflictOutcome(c)
      if (decision && c.op.kind === 'dispense')
        out.set(c.op.id, unitsAfterDecision({ quantity: c.op.quantity ?? 0 }, decision))
    }
    return out
  }

  /**
   * The central status of a prescription as the relay last published it in a settled inventory that verified
   * (undefined: never changed centrally, or nothing verified yet).
   */
  async prescriptionStatus(id: string): Promise<PrescriptionStatusState | undefined> {
    const settled = await this.#settled()
    if (!settled) return undefined
    const state = JSON.parse(settled.state) as InventoryState
    return state.prescriptions?.[id]
  }

  /** Operations of this device not yet decided by the relay. */
  async pending(): Promise<number> {
    const settled = await this.#settled()
    const mark = settled?.watermarks[this.#device] ?? 0
    return Math.max(0, this.head.seq - mark)
  }

  /** Settled (relay) and tentative (settled + unsettled ops seen) stock per item and batch at this site. */
  async stock(): Promise<StockView> {
    const settled = await this.#settled()
    const state = settled ? (JSON.parse(settled.state) as InventoryState) : EMPTY_INVENTORY
    const ops = await this.unsettled(settled?.watermarks ?? {})
    return {
      ...project(state, ops, { site: this.#site }),
      settledAt: settled?.settledAt ?? null,
      items: state.items,
      unsettledOps: ops.length,
      settledVerified: settled !== undefined && this.#trust !== undefined,
      settledVersion: settled?.version ?? null,
      settledRejected: this.#rejected,
    }
  }
}

function wait(ms: number): Promise<undefined> {
  return new Promise((r) => setTimeout(() => r(undefined), ms).unref())
}
