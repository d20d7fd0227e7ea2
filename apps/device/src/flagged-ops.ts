import type { FlaggedOperation } from '@clinic-mesh/contracts'

/** The parts of a conflict-queue entry the device reads, or undefined for an entry that is not JSON. */
export interface ConflictEntry {
  id?: string
  kind?: string
  detail?: string
  critical?: boolean
  status?: string
  op?: {
    id: string
    kind: string
    device?: string
    user?: string
    item?: string
    batch?: string | null
    quantity: number
    hlc?: { wall: number }
  }
  resolution?: {
    decision?: { action: string; quantity?: number; batch?: string }
    by?: string
    role?: string
  } | null
}

export function parseConflict(raw: string): ConflictEntry | undefined {
  try {
    const c = JSON.parse(raw) as unknown
    return c !== null && typeof c === 'object' ? c : undefined
  } catch {
    return undefined
  }
}

/**
 * This device's operations that the relay flagged, newest first: what was recorded, why, and the decision once made
 * (a pharmacist learns that their dispense was flagged and how it was resolved, seed 000).
 */
export function flaggedOf(entries: readonly string[], device: string): FlaggedOperation[] {
  const out: FlaggedOperation[] = []
  for (const raw of entries) {
    const c = parseConflict(raw)
    const op = c?.op
    if (!c || !op || op.device !== device || typeof c.kind !== 'string') continue
    const d = c.resolution?.decision
    out.push({
      conflict: c.id ?? `c_${op.id}`,
      op: op.id,
      opKind: op.kind,
      kind: c.kind,
      detail: c.detail ?? '',
      item: op.item ?? null,
      batch: op.batch ?? null,
      quantity: typeof op.quantity === 'number' ? op.quantity : null,
      at: new Date(op.hlc?.wall ?? 0).toISOString(),
      user: op.user ?? '',
      critical: c.critical === true,
      status: c.status === 'resolved' ? 'resolved' : 'open',
      decision:
        c.status === 'resolved' && d
          ? {
              action: d.action,
              ...(typeof d.quantity === 'number' ? { quantity: d.quantity } : {}),
              ...(typeof d.batch === 'string' ? { batch: d.batch } : {}),
              by: c.resolution?.by ?? '',
              role: c.resolution?.role ?? '',
            }
          : null,
    })
  }
  return out.sort((a, b) => b.at.localeCompare(a.at))
}
