import { ConflictQueueEntrySchema, tryParse, type ConflictQueueEntry } from '@clinic-mesh/contracts'

/**
 * The relay's conflict queue entries (JSON text each) parsed with the contracts schema; an entry that is not JSON or
 * does not fit is left out.
 */
export function parseConflictEntries(raw: readonly string[]): ConflictQueueEntry[] {
  const out: ConflictQueueEntry[] = []
  for (const text of raw) {
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      continue
    }
    const entry = tryParse(ConflictQueueEntrySchema, json)
    if (entry) out.push(entry)
  }
  return out
}

/** A reviewer's decision as the device shows it: the action with its quantity, lot or adjustment, and who decided. */
export interface OutcomeDecision {
  readonly action: string
  /** units left handed out (partial dispense) or written off */
  readonly quantity?: number
  /** the lot switched to or written off */
  readonly batch?: string
  /** the stock adjustment an accepted count or request booked */
  readonly adjustment?: { readonly batch: string; readonly delta: number }
  /** the reviewer (user id) and their role */
  readonly by: string
  readonly role: string
  /** the supervisor who approved a critical resolution (null: none needed) */
  readonly approvedBy: string | null
}

/** Where a conflict stands: open, or resolved with the reviewer's decision. */
export interface ConflictOutcome {
  readonly status: 'open' | 'resolved'
  /** the decision once resolved (null while open) */
  readonly decision: OutcomeDecision | null
}

/** The status and decision of one conflict queue entry (the flags and the register both read them this way). */
export function conflictOutcome(entry: ConflictQueueEntry): ConflictOutcome {
  const r = entry.resolution
  if (entry.status !== 'resolved' || !r) return { status: entry.status, decision: null }
  const d = r.decision
  return {
    status: 'resolved',
    decision: {
      action: d.action,
      ...('quantity' in d ? { quantity: d.quantity } : {}),
      ...('batch' in d ? { batch: d.batch } : {}),
      ...('adjustment' in d && d.adjustment ? { adjustment: d.adjustment } : {}),
      by: r.by,
      role: r.role,
      approvedBy: r.approvedBy?.user ?? null,
    },
  }
}
