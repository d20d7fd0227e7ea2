import * as A from '@automerge/automerge'
import type { DocumentId } from '@automerge/automerge-repo'

const PERIOD = /^\d{4}-\d{2}-\d{2}$/

/**
 * Whether a ledger log's period (UTC day, as the directory names it) is before yesterday: devices append only to
 * today's log, and one day of grace covers their clocks. A period not of the form YYYY-MM-DD is never past.
 */
export function isPastPeriod(period: string, now = Date.now()): boolean {
  if (!PERIOD.test(period)) return false
  const yesterday = new Date(now - 86_400_000).toISOString().slice(0, 10)
  return period < yesterday
}

/**
 * Whether a log's stored chunks hold no operation beyond `cursor` (the settlement's count of its operations already
 * ingested): its document, loaded from them, is complete (no change missing its predecessors) and holds exactly
 * `cursor` operations. Anything unreadable or unexpected: false (the log is opened as any other).
 */
export function allIngested(chunks: readonly Uint8Array[], cursor: number): boolean {
  if (chunks.length === 0) return false
  try {
    // one load of the chunks end to end (snapshots and incremental changes alike): ~2× cheaper than a loadIncremental
    // a chunk
    const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
    let at = 0
    for (const c of chunks) {
      all.set(c, at)
      at += c.length
    }
    const doc = A.load<{ ops?: unknown }>(all)
    if (A.getMissingDeps(doc, []).length > 0) return false
    return Array.isArray(doc.ops) && doc.ops.length === cursor
  } catch {
    return false
  }
}

/**
 * A clinic's past logs its settler left unopened at its open (every operation they held ingested), mapped to the
 * clinic: each is opened and read as any other when woken (the repo opened it: a device syncs it here; another
 * instance stored a change of it; something reads every log).
 */
export class DormantLogs {
  readonly #logs = new Map<DocumentId, () => Promise<void>>()

  /** `open`: open the log through the repo and read it, resolving once read. */
  add(id: DocumentId, open: () => Promise<void>): void {
    this.#logs.set(id, open)
  }

  /** Open a dormant log (resolves once read; at once if it is not dormant). */
  wake(id: DocumentId): Promise<void> {
    const open = this.#logs.get(id)
    if (!open) return Promise.resolve()
    this.#logs.delete(id)
    return open()
  }

  /** Open every dormant log (notices missed, a revocation to apply, an export of every operation). */
  async wakeAll(): Promise<void> {
    await Promise.all([...this.#logs.keys()].map((id) => this.wake(id)))
  }

  get size(): number {
    return this.#logs.size
  }
}
