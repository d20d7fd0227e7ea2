import * as A from '@automerge/automerge'
import type { AutomergeUrl, DocumentId, Repo } from '@automerge/automerge-repo'
import { ClinicMeshError } from '@clinic-mesh/contracts'
import { str, type ChartCollection } from '@clinic-mesh/records'
import {
  actorWriteProblem,
  checkWrites,
  mayRead,
  resolveChanges,
  type DocKind,
  type FieldWrite,
} from '@clinic-mesh/security'
import { findDoc } from '@clinic-mesh/store'
import type { Principal } from './auth.js'
import type { DeviceAudit } from './audit.js'
import type { DocKinds } from './doc-kinds.js'
import { InvalidMarEntryError, InvalidPrescriptionLineError } from './errors.js'
import { marEntriesProblem, touchedMarEntries } from './mar-entry-check.js'
import { prescriptionLinesProblem, touchedLines } from './rx-line-check.js'

/** A browser's change the node refused: nothing of the message reached the repo. */
export class ForbiddenWriteError extends ClinicMeshError {
  constructor(message: string) {
    super('ForbiddenWriteError', message)
  }
}

/** A browser asked for a document its role does not receive (or one the node cannot place). */
export class ForbiddenReadError extends ClinicMeshError {
  constructor(message: string) {
    super('ForbiddenReadError', message)
  }
}

/** What a browser's sync message carries, as far as the gate needs it. */
export interface GateMessage {
  type: string
  senderId: string
  documentId?: string
  data?: Uint8Array
}

export type GateVerdict =
  | { readonly pass: true }
  | {
      readonly pass: false
      readonly error:
        ForbiddenReadError | ForbiddenWriteError | InvalidPrescriptionLineError | InvalidMarEntryError
      readonly writes?: readonly { path: string; value?: unknown }[]
    }

/**
 * The device node's authority over what a signed-in browser syncs (issue "Authority at the node", design (b) in
 * docs/ARCHITECTURE.md): the browser stays an automerge-repo peer, and every message it sends passes here first.
 * A request for a document its role may not read is refused; a sync message carrying changes is resolved op by op
 * against the node's own copy (`resolveChanges`) and checked against the field policy of `@clinic-mesh/security`;
 * one refused write refuses the whole message. Accepted writes are audited where they land.
 */
export class SyncGate {
  readonly #repo: Repo
  readonly #kinds: DocKinds
  readonly #audit: DeviceAudit

  constructor(repo: Repo, kinds: DocKinds, audit: DeviceAudit) {
    this.#repo = repo
    this.#kinds = kinds
    this.#audit = audit
  }

  kindOf(documentId: string): DocKind | undefined {
    return this.#kinds.kindOf(documentId as DocumentId)
  }

  mayRead(p: Principal, documentId: string): boolean {
    const kind = this.kindOf(documentId)
    return kind !== undefined && mayRead(p.role, kind)
  }

  async check(p: Principal, m: GateMessage): Promise<GateVerdict> {
    if (m.type === 'doc-unavailable') return { pass: true }
    if (m.type !== 'sync' && m.type !== 'request') {
      // ephemeral and remote-heads gossip would be forwarded to the mesh under the browser's id: not for browsers
      return { pass: false, error: new ForbiddenWriteError(`a browser does not send ${m.type} messages`) }
    }
    const documentId = m.documentId ?? ''
    const kind = this.kindOf(documentId)
    if (!kind || !mayRead(p.role, kind)) {
      return {
        pass: false,
        error: new ForbiddenReadError(
          `a ${p.role} does not receive document ${documentId.slice(0, 12)} (${kind ?? 'not a document of this clinic'})`,
        ),
      }
    }
    if (!m.data) return { pass: true }
    let changes: Uint8Array[]
    try {
      changes = A.decodeSyncMessage(m.data).changes
    } catch {
      return { pass: false, error: new ForbiddenWriteError('the sync message does not decode') }
    }
    if (changes.length === 0) return { pass: true }
    const handle = await findDoc<unknown>(this.#repo, `automerge:${documentId}` as AutomergeUrl, {
      signal: AbortSignal.timeout(10_000),
    })
    const doc = handle.doc()
    const resolved = resolveChanges(doc, changes)
    if (!resolved.ok) return { pass: false, error: new ForbiddenWriteError(resolved.message) }
    const writes = resolved.changes.flatMap((c) =>
      c.writes
        .filter((w) => !w.structural)
        .map((w) => ({ path: w.path.join('.'), ...(w.value !== undefined ? { value: w.value } : {}) })),
    )
    const signedRx =
      kind === 'chart-bucket' ? signedPrescriptionGuard(doc as A.Doc<ChartCollection>) : undefined
    // an actor recorded in a chart is the signed-in user, packed `user device` (collection schema 3)
    const guard = signedRx && ((w: FieldWrite) => signedRx(w) ?? actorWriteProblem(w, p.user))
    const verdict = checkWrites(p.role, kind, m.senderId, resolved.changes, guard)
    if (!verdict.ok)
      return { pass: false, error: new ForbiddenWriteError(verdict.message), writes: writes.slice(0, 200) }
    if (kind === 'chart-bucket') {
      // allowed to write there; now what the lines become must be coded, complete lines (RxLineSchema)
      const lines = touchedLines(resolved.changes.flatMap((c) => c.writes))
      const problem = prescriptionLinesProblem(doc, m.data, lines)
      if (problem)
        return { pass: false, error: new InvalidPrescriptionLineError(problem), writes: writes.slice(0, 200) }
      // a MAR entry must be a dose of a signed prescription's line, by the signed-in user (a correction: same line)
      const entries = touchedMarEntries(resolved.changes.flatMap((c) => c.writes))
      const marProblem = marEntriesProblem(doc, m.data, entries, p.user)
      if (marProblem)
        return { pass: false, error: new InvalidMarEntryError(marProblem), writes: writes.slice(0, 200) }
    }
    // attribution where the write lands: one entry per patient (chart buckets) or per document
    const byTarget = new Map<string, { paths: Set<string>; changes: string[] }>()
    for (const c of verdict.changes) {
      for (const path of c.paths) {
        const target = targetOf(kind, documentId, path)
        let t = byTarget.get(target)
        if (!t) byTarget.set(target, (t = { paths: new Set(), changes: [] }))
        t.paths.add(path)
        if (!t.changes.includes(c.hash)) t.changes.push(c.hash)
      }
    }
    for (const [target, t] of byTarget)
      this.#audit.recordSynced(p.user, 'change', target, documentId, [...t.paths], t.changes)
    return { pass: true }
  }

  /** A chart bucket delivered to a browser: who received which charts (the bucket holds a share of the clinic). */
  recordRead(p: Principal, documentId: string): void {
    if (this.kindOf(documentId) === 'chart-bucket')
      this.#audit.recordSynced(p.user, 'read', `bucket:${documentId}`, documentId, [], [])
  }
}

/** `patient:ID` for a chart's fields, else the document. */
function targetOf(kind: DocKind, documentId: string, path: string): string {
  if (kind === 'chart-bucket' && path.startsWith('charts.')) {
    const pid = path.split('.')[1]
    if (pid) return `patient:${pid}`
  }
  return `doc:${documentId}`
}

/** A signed prescription is immutable: no browser writes under it (the node's copy decides, not the browser's). */
function signedPrescriptionGuard(doc: A.Doc<ChartCollection>): (w: FieldWrite) => string | undefined {
  return (w) => {
    const [c, pid, section, rx] = w.path
    if (c !== 'charts' || section !== 'prescriptions' || rx === undefined) return undefined
    const held = doc.charts?.[String(pid)]?.prescriptions?.[String(rx)]
    return held && str(held.status) === 'signed'
      ? `prescription ${String(rx)} is signed: it cannot change (write a new one)`
      : undefined
  }
}
