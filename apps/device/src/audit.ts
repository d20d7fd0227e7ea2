import type { AutomergeUrl, DocHandle, Repo } from '@automerge/automerge-repo'
import type { ClinicDirectoryDoc, DocUrl } from '@clinic-mesh/contracts'
import { AuditLog, verifyChain, whoTouched, type AuditAction, type AuditEntry, type Touch } from '@clinic-mesh/security'
import { findDoc } from '@clinic-mesh/store'
import { log } from './log.js'

/** One device's audit trail: a single-writer document of hash-chained entries, synced like every record. */
export interface AuditDoc {
  kind: 'audit-log/1'
  device: string
  entries: AuditEntry[]
}

export interface AuditAnswer {
  target: string
  touches: Touch[]
  /** Each device chain read for the answer, and whether it verified (a deleted or reordered entry shows here). */
  chains: { device: string; entries: number; ok: boolean; problem?: string }[]
}

/**
 * "Who read or changed this chart, when, from which device": this device appends to its own chain; answers read
 * every device's chain listed in the clinic directory, verify each, and merge their entries for the target.
 */
export class DeviceAudit {
  readonly #repo: Repo
  readonly #dir: DocHandle<ClinicDirectoryDoc>
  readonly #handle: DocHandle<AuditDoc>
  readonly #log: AuditLog

  private constructor(repo: Repo, dir: DocHandle<ClinicDirectoryDoc>, handle: DocHandle<AuditDoc>, auditLog: AuditLog) {
    this.#repo = repo
    this.#dir = dir
    this.#handle = handle
    this.#log = auditLog
  }

  static async open(repo: Repo, dir: DocHandle<ClinicDirectoryDoc>, device: string): Promise<DeviceAudit> {
    const url = dir.doc().audit?.[device]
    // this device wrote its own chain, so it is on disk unless the data dir lost it: then start a new one (logged)
    let handle = url ? await findDoc<AuditDoc>(repo, url as string as AutomergeUrl, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined) : undefined
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
    let auditLog: AuditLog
    try {
      auditLog = AuditLog.resume(device, entries)
    } catch (err) {
      // a tampered chain is evidence: keep it as it is, flag it, and continue after it so new entries are kept
      log('audit-chain-broken', { device, error: err instanceof Error ? err.message : 'unknown' })
      auditLog = AuditLog.create(device)
    }
    return new DeviceAudit(repo, dir, handle, auditLog)
  }

  /** Appends an entry and resolves once it is on disk (an acknowledged change has its audit entry stored). */
  async record(user: string, action: AuditAction, target: string): Promise<void> {
    const entry = this.#log.append({ user, action, target })
    this.#handle.change((d) => {
      d.entries.push({ ...entry })
    })
    await this.#repo.flush([this.#handle.documentId])
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
      const entries = plain(h.doc().entries)
      const check = verifyChain(entries)
      chains.push({ device, entries: entries.length, ok: check.ok, ...(check.ok ? {} : { problem: `${check.reason}: ${check.detail}` }) })
      all.push(...entries)
    }
    return { target, touches: whoTouched(all, target), chains }
  }
}

const plain = (entries: readonly AuditEntry[] | undefined): AuditEntry[] => JSON.parse(JSON.stringify(entries ?? [])) as AuditEntry[]
