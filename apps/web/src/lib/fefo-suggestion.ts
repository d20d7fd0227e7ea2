import { allocateFefo, compareFefo, isExpired } from '@clinic-mesh/ledger/fefo'

/** A lot as the dispense form lists it. */
export interface LotLine {
  readonly item: string
  readonly batch: string
  readonly expiry: string
}

export { isExpired }

/** Lots grouped by medicine, each medicine's lots in the order FEFO draws them (the ledger's `compareFefo`). */
export function lotsInFefoOrder<L extends LotLine>(lines: readonly L[]): L[] {
  return [...lines].sort((a, b) => a.item.localeCompare(b.item) || compareFefo(a, b))
}

/**
 * Per medicine, the lot the ledger's FEFO rule draws first at `asOf` (ms), given what is `left` in each lot by this
 * browser's count: the lot the relay would settle a dispense without a named lot from. Keys are `item/batch`.
 */
export function suggestedLots<L extends LotLine>(
  lines: readonly L[],
  left: (line: L) => number,
  asOf: number,
): Set<string> {
  const byItem = new Map<string, L[]>()
  for (const l of lines) byItem.set(l.item, [...(byItem.get(l.item) ?? []), l])
  const out = new Set<string>()
  for (const [item, lots] of byItem) {
    const [first] = allocateFefo(
      lots.map((l) => ({ batch: l.batch, expiry: l.expiry, available: left(l) })),
      1,
      asOf,
    ).picks
    if (first) out.add(`${item}/${first.lot.batch}`)
  }
  return out
}
