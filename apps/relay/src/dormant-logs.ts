import * as A from '@automerge/automerge'

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
    let doc = A.init<{ ops?: unknown }>()
    for (const c of chunks) doc = A.loadIncremental(doc, c)
    if (A.getMissingDeps(doc, []).length > 0) return false
    return Array.isArray(doc.ops) && doc.ops.length === cursor
  } catch {
    return false
  }
}
