import { expiryEnd } from './inventory.js'

/**
 * First-expiry-first-out: the one allocation rule for stock drawn without a named lot. The relay settles with it
 * (`applyOperation`, resolutions), devices project tentative stock with it (`project`, `suggestFefo`) and the web
 * suggests a lot with it, so what a pharmacist is told to hand out is what the relay books.
 *
 * Rules:
 * - lots whose expiry has passed at `asOf` are skipped: a lot expiring on `2027-03-31` may be drawn until
 *   `2027-04-01T00:00:00Z` (`expiryEnd`); pass `Number.NEGATIVE_INFINITY` to ignore expiry (an accepted override);
 * - lots with nothing available (`available <= 0`) are skipped;
 * - earliest expiry first; lots with the same expiry by lot (batch) id, compared by UTF-16 code unit (not locale);
 * - each lot gives what it has until the request is met; what no lot can cover is the `short`.
 */

/** A lot FEFO may draw from. */
export interface FefoLot {
  /** Lot (batch) id: orders lots with the same expiry. */
  readonly batch: string
  /** Last day of use, `YYYY-MM-DD` (UTC). */
  readonly expiry: string
  /** Quantity that may be drawn now. */
  readonly available: number
}

export interface FefoPick<L extends FefoLot = FefoLot> {
  readonly lot: L
  readonly quantity: number
}

export interface FefoAllocation<L extends FefoLot = FefoLot> {
  /** Lots drawn, earliest expiry first, each with the quantity taken from it. */
  readonly picks: readonly FefoPick<L>[]
  /** What no usable lot covers (0: the request is met in full). */
  readonly short: number
}

/** FEFO order: earlier expiry first, then lot id by code unit. */
export function compareFefo(
  a: Pick<FefoLot, 'batch' | 'expiry'>,
  b: Pick<FefoLot, 'batch' | 'expiry'>,
): number {
  if (a.expiry !== b.expiry) return a.expiry < b.expiry ? -1 : 1
  return a.batch < b.batch ? -1 : a.batch > b.batch ? 1 : 0
}

/** Whether a lot with this expiry may no longer be used at `asOf` (UTC ms). */
export function isExpired(expiry: string, asOf: number): boolean {
  return asOf >= expiryEnd(expiry)
}

/** Allocate `quantity` from `lots` (any order) first-expiry-first-out at `asOf`; see the rules above. */
export function allocateFefo<L extends FefoLot>(
  lots: readonly L[],
  quantity: number,
  asOf: number,
): FefoAllocation<L> {
  const usable = lots.filter((l) => l.available > 0 && !isExpired(l.expiry, asOf)).sort(compareFefo)
  const picks: FefoPick<L>[] = []
  let left = quantity
  for (const lot of usable) {
    if (left <= 0) break
    const take = Math.min(left, lot.available)
    picks.push({ lot, quantity: take })
    left -= take
  }
  return { picks, short: Math.max(left, 0) }
}
