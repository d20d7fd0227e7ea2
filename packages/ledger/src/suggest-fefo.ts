import type { BatchId, ItemId, LocationId } from '@clinic-mesh/contracts'
import { InvalidOperationError } from './errors.js'
import { expiryEnd } from './inventory.js'
import type { Projection } from './projection.js'

export interface FefoSuggestion {
  readonly picks: readonly { readonly batch: BatchId; readonly quantity: number; readonly expiry: string }[]
  /** Quantity no unexpired lot with tentative stock can cover (0 when fully covered). */
  readonly short: number
}

/**
 * First-expiry-first-out on tentative stock: lots of `item` at the site, not expired at `asOf` (ms), with stock,
 * earliest expiry first (ties by batch id).
 */
export function suggestFefo(projection: Projection, item: ItemId, qty: number, asOf: number, site?: LocationId): FefoSuggestion {
  const at = site ?? projection.site
  if (at === null) throw new InvalidOperationError('no-site', 'suggestFefo needs a site (projection built without one)', 'site')
  const lots = projection.lines
    .filter((l) => l.site === at && l.item === item && l.tentative > 0 && asOf < expiryEnd(l.expiry))
    .sort((a, b) => (a.expiry < b.expiry ? -1 : a.expiry > b.expiry ? 1 : a.batch < b.batch ? -1 : 1))
  const picks: { batch: BatchId; quantity: number; expiry: string }[] = []
  let left = qty
  for (const l of lots) {
    if (left === 0) break
    const n = Math.min(left, l.tentative)
    picks.push({ batch: l.batch, quantity: n, expiry: l.expiry })
    left -= n
  }
  return { picks, short: left }
}
