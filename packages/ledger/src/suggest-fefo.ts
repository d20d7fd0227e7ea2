import type { BatchId, ItemId, LocationId } from '@clinic-mesh/contracts'
import { InvalidOperationError } from './errors.js'
import { allocateFefo } from './fefo.js'
import type { Projection } from './projection.js'

export interface FefoSuggestion {
  readonly picks: readonly { readonly batch: BatchId; readonly quantity: number; readonly expiry: string }[]
  /** Quantity no unexpired lot with tentative stock can cover (0 when fully covered). */
  readonly short: number
}

/** `allocateFefo` on a device's tentative stock: the lots of `item` at the site, as the projection holds them at `asOf` (ms). */
export function suggestFefo(
  projection: Projection,
  item: ItemId,
  qty: number,
  asOf: number,
  site?: LocationId,
): FefoSuggestion {
  const at = site ?? projection.site
  if (at === null)
    throw new InvalidOperationError(
      'no-site',
      'suggestFefo needs a site (projection built without one)',
      'site',
    )
  const lots = projection.lines
    .filter((l) => l.site === at && l.item === item)
    .map((l) => ({ batch: l.batch, expiry: l.expiry, available: l.tentative }))
  const { picks, short } = allocateFefo(lots, qty, asOf)
  return {
    picks: picks.map((p) => ({ batch: p.lot.batch, quantity: p.quantity, expiry: p.lot.expiry })),
    short,
  }
}
