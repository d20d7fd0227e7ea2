import type { AutomergeUrl, DocHandle, Repo } from '@automerge/automerge-repo'
import type { ClinicDirectoryDoc, ClinicId, DeviceId, DocUrl, LocationId, OperationId, SettledInventoryDoc } from '@clinic-mesh/contracts'
import {
  DeviceLog,
  EMPTY_INVENTORY,
  appendOperation,
  canonicalJson,
  newLogDoc,
  periodOf,
  project,
  validateOperation,
  type ChainHead,
  type DeviceLogDoc,
  type InventoryState,
  type Operation,
  type OperationBody,
  type Projection,
  type Session,
} from '@clinic-mesh/ledger'
import { findDoc } from '@clinic-mesh/store'
import { IdempotencyConflictError } from './errors.js'
import { signLatestRun, type RunSigner } from './run-signer.js'

const HEADER = new Set(['v', 'id', 'device', 'user', 'role', 'site', 'hlc', 'seq', 'prev', 'hash'])

function bodyOf(op: Operation | OperationBody): string {
  return canonicalJson(Object.fromEntries(Object.entries(op).filter(([k]) => !HEADER.has(k))))
}

export interface StockView extends Projection {
  settledAt: string | null
  items: InventoryState['items']
  unsettledOps: number
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

  private constructor(repo: Repo, dir: DocHandle<ClinicDirectoryDoc>, device: DeviceId, site: LocationId, head: ChainHead | undefined) {
    this.#repo = repo
    this.#dir = dir
    this.#device = device
    this.#site = site
    this.#log = this.#newLog(head)
  }

  static async open(repo: Repo, dir: DocHandle<ClinicDirectoryDoc>, device: DeviceId, site: LocationId): Promise<DeviceLedger> {
    const ledger = new DeviceLedger(repo, dir, device, site, undefined)
    let last: Operation | undefined
    for (const url of Object.values(dir.doc().ledgerLogs[device] ?? {})) {
      const h = await ledger.#logDoc(url)
      for (const op of h?.doc().ops ?? []) {
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
      p = findDoc<DeviceLogDoc>(this.#repo, url as AutomergeUrl, { signal: AbortSignal.timeout(30_000) }).catch(() => {
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
  append(id: OperationId, body: OperationBody, session: Omit<Session, 'site'>, signer?: RunSigner): Promise<{ op: Operation; duplicate: boolean }> {
    const run = this.#queue.then(() => this.#append(id, body, session, signer))
    this.#queue = run.catch(() => undefined)
    return run
  }

  async #append(id: OperationId, body: OperationBody, session: Omit<Session, 'site'>, signer: RunSigner | undefined): Promise<{ op: Operation; duplicate: boolean }> {
    const known = this.#byId.get(id)
    if (known) {
      if (bodyOf(known) !== bodyOf(body)) throw new IdempotencyConflictError(`operation ${id} was recorded with other content`)
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

  async #settled(): Promise<SettledInventoryDoc | undefined> {
    const url = this.#dir.doc().settlement.inventory
    if (!url) return undefined
    try {
      const h = await findDoc<SettledInventoryDoc>(this.#repo, url as string as AutomergeUrl, { signal: AbortSignal.timeout(300) })
      return h.doc()
    } catch {
      return undefined
    }
  }

  /** Every operation of every device log this node holds that the relay has not decided yet. */
  async unsettled(watermarks: { [device: string]: number }): Promise<Operation[]> {
    const out: Operation[] = []
    for (const [device, periods] of Object.entries(this.#dir.doc().ledgerLogs)) {
      const mark = watermarks[device] ?? 0
      const handles = await Promise.all(Object.values(periods).map((u) => Promise.race([this.#logDoc(u), wait(300)])))
      for (const h of handles) for (const op of h?.doc().ops ?? []) if (op.seq > mark) out.push(op)
    }
    return out
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
    return { ...project(state, ops, { site: this.#site }), settledAt: settled?.settledAt ?? null, items: state.items, unsettledOps: ops.length }
  }

}

function wait(ms: number): Promise<undefined> {
  return new Promise((r) => setTimeout(() => r(undefined), ms).unref())
}
