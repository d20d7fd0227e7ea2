import { ImmutableString, isImmutableString } from '@automerge/automerge'
import type { AutomergeUrl, DocHandle, DocumentId, Repo } from '@automerge/automerge-repo'
import type { ClinicDirectoryDoc, DocUrl } from '@clinic-mesh/contracts'
import {
  AuditLog,
  verifyChain,
  whoTouched,
  type AuditAction,
  type AuditDetail,
  type AuditEntry,
  type AuditHead,
  type SignedAuditHead,
  type Touch,
} from '@clinic-mesh/security'
import { findDoc } from '@clinic-mesh/store'
import { log } from './log.js'

/** Entries moved out of the live chain by the retention rule: kept, never dropped (seed 004: 7 years by default). */
export interface AuditArchiveDoc {
  kind: 'audit-archive/1'
  device: string
  /** the head of the chain before these entries (null for the first archive) */
  start: AuditHead | null
  entries: StoredEntry[]
}

/**
 * An entry as stored: older entries are maps, newer ones one immutable JSON string (one Automerge value instead of
 * one per character of every hash: a write entry carries the hashes of the changes it covers).
 */
export type StoredEntry = AuditEntry | ImmutableString

/** One device's audit trail: a single-writer document of hash-chained entries, synced like every record. */
export interface AuditDoc {
  kind: 'audit-log/1'
  device: string
  entries: StoredEntry[]
  /** The newest head, signed by the device key (`signAuditHead`): truncating the chain below it shows. */
  head?: SignedAuditHead & { signer: string }
  /** Archived parts of the chain, oldest first; the live entries follow the last one's head. */
  archives?: { url: string; start: AuditHead | null; end: AuditHead }[]
}

export interface AuditAnswer {
  target: string
  touches: Touch[]
  /** Each device chain read for the answer, and whether it verified (a deleted or reordered entry shows here). */
  chains: { device: string; entries: number; ok: boolean; problem?: string }[]
}

export interface DeviceAuditInit {
  /** Signs a head with this device's key; `signer` names the key (the libp2p peer id). */
  signHead: (head: AuditHead) => SignedAuditHead & { signer: string }
  /** Whether a chain's signed head verifies (another device's key from the membership). */
  verifyHead?: (head: SignedAuditHead & { signer: string }) => boolean
}

/** Writes accepted over /sync within this window are one audit entry per user, target and document. */
export const WRITE_WINDOW_MS = 1_000
const YEAR_MS = 365.25 * 24 * 3600 * 1000
export const DEFAULT_AUDIT_RETENTION_YEARS = 7

interface Pending {
  user: string
  action: AuditAction
  target: string
  doc: string
  paths: Set<string>
  changes: string[]
}

/**
 * "Who read or changed this chart, when, from which device": this device appends to its own chain; answers read
 * every device's chain listed in the clinic directory, verify each, and merge their entries for the target.
 * Writes a browser makes over `/sync` are recorded where they land (the sync gate calls `recordSynced`), coalesced
 * per second so a typed note is not one entry per keystroke.
 */
export class DeviceAudit {
  readonly #repo: Repo
  readonly #dir: DocHandle<ClinicDirectoryDoc>
  readonly #handle: DocHandle<AuditDoc>
  readonly #log: AuditLog
  readonly #init: DeviceAuditInit
  readonly #pending = new Map<string, Pending>()
  #timer: NodeJS.Timeout | undefined

  private constructor(
    repo: Repo,
    dir: DocHandle<ClinicDirectoryDoc>,
    handle: DocHandle<AuditDoc>,
    auditLog: AuditLog,
    init: DeviceAuditInit,
  ) {
    this.#repo = repo
    this.#dir = dir
    this.#handle = handle
    this.#log = auditLog
    this.#init = init
  }

  static async open(
    repo: Repo,
    dir: DocHandle<ClinicDirectoryDoc>,
    device: string,
    init: DeviceAuditInit,
  ): Promise<DeviceAudit> {
    const url = dir.doc().audit?.[device]
    // this device wrote its own chain, so it is on disk unless the data dir lost it: then start a new one (logged)
    let handle = url
      ? await findDoc<AuditDoc>(repo, url as string as AutomergeUrl, {
          signal: AbortSignal.timeout(5_000),
        }).catch(() => undefined)
      : undefined
    if (url && !handle) log('audit-chain-missing', { device })
    if (!handle) {
      const created = repo.create<AuditDoc>({ kind: 'audit-log/1', device, entries: [] })
      await repo.flush([created.documentId])
      dir.change((d) => {
        d.audit ??= {}
        d.audit[device] = created.url as string as DocUrl
      })
      await repo.flush([dir.documentId])
      handle = created
    }
    const entries = plain(handle.doc().entries)
    const start = lastArchive(handle.doc())
    let auditLog: AuditLog
    try {
      auditLog = AuditLog.resume(device, entries, start ? { start } : {})
    } catch (err) {
      // a tampered chain is evidence: keep it as it is, flag it, and continue after it so new entries are kept
      log('audit-chain-broken', { device, error: err instanceof Error ? err.message : 'unknown' })
      auditLog = AuditLog.create(device)
    }
    return new DeviceAudit(repo, dir, handle, auditLog, init)
  }

  /** Appends an entry and resolves once it is on disk (an acknowledged change has its audit entry stored). */
  async record(user: string, action: AuditAction, target: string, detail?: AuditDetail): Promise<void> {
    await this.#repo.flush([this.append(user, action, target, detail)])
  }

  /**
   * Appends an entry and returns the audit document's id, unsaved: the caller saves it with its own write (`repo.flush`)
   * before it answers, as `record` would.
   */
  append(user: string, action: AuditAction, target: string, detail?: AuditDetail): DocumentId {
    this.#append([{ user, action, target, ...(detail ? { detail } : {}) }])
    return this.#handle.documentId
  }

  /**
   * One entry per target, appended in one change under one signed head, and one flush (a bulk import touching 10,000
   * charts: the same entries as 10,000 `record`s, without 10,000 changes, signatures and saves).
   */
  async recordMany(user: string, action: AuditAction, targets: Iterable<string>): Promise<void> {
    const inputs = [...targets].map((target) => ({ user, action, target }))
    if (inputs.length === 0) return
    this.#append(inputs)
    await this.#repo.flush([this.#handle.documentId])
  }

  /**
   * What passed the sync gate: a browser's accepted change (`change`) or a chart bucket sent to a browser (`read`).
   * Kept for at most a second, then appended with the others of that second.
   */
  recordSynced(
    user: string,
    action: AuditAction,
    target: string,
    doc: string,
    paths: readonly string[],
    changes: readonly string[],
  ): void {
    const key = `${user}\n${action}\n${target}\n${doc}`
    let p = this.#pending.get(key)
    if (!p) this.#pending.set(key, (p = { user, action, target, doc, paths: new Set(), changes: [] }))
    for (const path of paths) if (p.paths.size < 64) p.paths.add(path)
    p.changes.push(...changes)
    this.#timer ??= setTimeout(() => void this.flushWrites(), WRITE_WINDOW_MS)
  }

  /** Appends every pending write entry (the node calls it on stop). */
  async flushWrites(): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#pending.size === 0) return
    const batch = [...this.#pending.values()]
    this.#pending.clear()
    this.#append(
      batch.map((p) => ({
        user: p.user,
        action: p.action,
        target: p.target,
        detail: { doc: p.doc, paths: [...p.paths], changes: p.changes },
      })),
    )
    await this.#repo
      .flush([this.#handle.documentId])
      .catch((err: unknown) =>
        log('audit-flush-failed', { error: err instanceof Error ? err.name : 'unknown' }),
      )
  }

  #append(inputs: { user: string; action: AuditAction; target: string; detail?: AuditDetail }[]): void {
    const entries = inputs.map((i) => this.#log.append(i))
    const head = this.#log.head
    const signed = head ? this.#init.signHead(head) : undefined
    this.#handle.change((d) => {
      d.entries.push(...entries.map(plainEntry)) // one push: each push reads the list's length (slow on a long chain)
      if (signed) d.head = { ...signed }
    })
  }

  /**
   * Retention: entries older than `years` move to an archive document (kept and synced like the chain, never
   * dropped); the live chain continues after the archive's head, so both still verify end to end.
   */
  async archiveOlderThan(years: number, now = new Date()): Promise<number> {
    const cutoff = new Date(now.getTime() - years * YEAR_MS).toISOString()
    const old = this.#log.entries.filter((e) => e.at < cutoff).length
    if (old === 0) return 0
    const start = this.#log.base
    const moved = this.#log.archiveOldest(old)
    const end = this.#log.base
    if (!end) return 0
    const archive = this.#repo.create<AuditArchiveDoc>({
      kind: 'audit-archive/1',
      device: this.#log.device,
      start,
      entries: moved.map(plainEntry),
    })
    await this.#repo.flush([archive.documentId])
    this.#handle.change((d) => {
      d.entries.splice(0, moved.length)
      d.archives ??= []
      d.archives.push({ url: archive.url, start, end })
    })
    await this.#repo.flush([this.#handle.documentId])
    log('audit-archived', { entries: moved.length, before: cutoff })
    return moved.length
  }

  /** Applies the retention rule now and once a day (`years` read each time: an admin may change the setting). */
  keepRetention(years: () => number): NodeJS.Timeout {
    const retain = (): void => {
      this.archiveOlderThan(years()).catch((err: unknown) =>
        log('audit-archive-failed', { error: err instanceof Error ? err.name : 'unknown' }),
      )
    }
    retain()
    return setInterval(retain, 24 * 3600 * 1000).unref()
  }

  async whoTouched(target: string): Promise<AuditAnswer> {
    const urls = Object.entries(this.#dir.doc().audit ?? {})
    const chains: AuditAnswer['chains'] = []
    const all: AuditEntry[] = []
    for (const [device, url] of urls) {
      const h = await findDoc<AuditDoc>(this.#repo, url as string as AutomergeUrl).catch(() => undefined)
      if (!h) {
        chains.push({ device, entries: 0, ok: false, problem: 'chain not on this device yet' })
        continue
      }
      const doc = h.doc()
      const entries = plain(doc.entries)
      const start = lastArchive(doc)
      const head = doc.head
        ? (JSON.parse(JSON.stringify(doc.head)) as SignedAuditHead & { signer: string })
        : undefined
      const headOk = head ? (this.#init.verifyHead?.(head) ?? true) : true
      const check = verifyChain(entries, {
        ...(start ? { start } : {}),
        ...(head && headOk ? { anchor: head } : {}),
      })
      const problem = !headOk
        ? 'signed head does not verify'
        : check.ok
          ? undefined
          : `${check.reason}: ${check.detail}`
      chains.push({
        device,
        entries: entries.length,
        ok: problem === undefined,
        ...(problem ? { problem } : {}),
      })
      all.push(...entries)
    }
    return { target, touches: whoTouched(all, target), chains }
  }
}

const lastArchive = (doc: AuditDoc): AuditHead | undefined => {
  const a = doc.archives?.[doc.archives.length - 1]
  return a ? { seq: a.end.seq, hash: a.end.hash } : undefined
}
const plain = (entries: readonly StoredEntry[] | undefined): AuditEntry[] =>
  (entries ?? []).map((e) =>
    isImmutableString(e) ? (JSON.parse(e.val) as AuditEntry) : (JSON.parse(JSON.stringify(e)) as AuditEntry),
  )
const plainEntry = (e: AuditEntry): ImmutableString => new ImmutableString(JSON.stringify(e))
