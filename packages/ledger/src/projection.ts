import type { BatchId, ItemId, LocationId, OperationId } from '@clinic-mesh/contracts'
import { compareHlc } from './hlc.js'
import type { BatchState, InventoryState, ItemState } from './inventory.js'
import { allocateFefo, compareFefo } from './fefo.js'
import type { Operation } from './operation.js'

/** One lot at one site: the centrally reconciled figure and the device's tentative one, never mixed. */
export interface ProjectionLine {
  readonly site: LocationId
  readonly item: ItemId
  readonly batch: BatchId
  readonly expiry: string
  readonly settled: number
  readonly tentative: number
}

export interface ProjectionWarning {
  readonly kind: 'negative-stock' | 'fefo-short' | 'unknown-batch'
  readonly op: OperationId
  readonly site: LocationId
  readonly item: ItemId
  readonly batch: BatchId | null
  readonly tentative: number
  readonly message: string
}

export interface Projection {
  readonly site: LocationId | null
  readonly lines: readonly ProjectionLine[]
  /** Item prices: settled (relay) and tentative (with unsettled formulary updates seen on the mesh). */
  readonly prices: Readonly<Record<ItemId, { readonly settled: number | null; readonly tentative: number }>>
  readonly warnings: readonly ProjectionWarning[]
  /** Unsettled operations applied, in order (duplicates by id counted once). */
  readonly applied: readonly OperationId[]
}

interface Mutable {
  site: LocationId
  item: ItemId
  batch: BatchId
  expiry: string
  settled: number
  tentative: number
}

/**
 * Tentative stock on a device: the last settled inventory plus every unsettled operation it has seen (its own and
 * its peers'), applied in HLC order. Adjustment requests and counts change nothing here: only the relay settles them.
 */
export function project(
  settled: InventoryState,
  unsettledOps: readonly Operation[],
  opts: { site?: LocationId } = {},
): Projection {
  const site = opts.site ?? null
  const batches = new Map<string, BatchState>(Object.entries(settled.batches))
  const lines = new Map<string, Mutable>()
  const key = (s: string, b: string): string => `${s}\u0000${b}`
  const line = (s: LocationId, b: BatchId): Mutable | undefined => {
    let l = lines.get(key(s, b))
    const info = batches.get(b)
    if (!l && info)
      lines.set(
        key(s, b),
        (l = { site: s, item: info.item, batch: b, expiry: info.expiry, settled: 0, tentative: 0 }),
      )
    return l
  }
  for (const [s, lots] of Object.entries(settled.stock)) {
    for (const [b, qty] of Object.entries(lots)) {
      const l = line(s as LocationId, b as BatchId)
      if (l) l.settled = l.tentative = qty
    }
  }
  const prices: Record<string, { settled: number | null; tentative: number }> = {}
  for (const [id, it] of Object.entries<ItemState>(settled.items))
    prices[id] = { settled: it.price, tentative: it.price }

  const seen = new Set<string>()
  const ops = unsettledOps.filter((op) => !seen.has(op.id) && seen.add(op.id))
  ops.sort(
    (a, b) =>
      compareHlc(a.hlc, b.hlc) || (a.device < b.device ? -1 : a.device > b.device ? 1 : a.seq - b.seq),
  )
  const warnings: ProjectionWarning[] = []
  const take = (op: Operation & { item: ItemId }, b: BatchId, qty: number): void => {
    const l = line(op.site, b)
    if (!l) {
      warnings.push({
        kind: 'unknown-batch',
        op: op.id,
        site: op.site,
        item: op.item,
        batch: b,
        tentative: 0,
        message: `batch ${b} unknown`,
      })
      return
    }
    l.tentative -= qty
    if (l.tentative < 0) {
      warnings.push({
        kind: 'negative-stock',
        op: op.id,
        site: op.site,
        item: op.item,
        batch: b,
        tentative: l.tentative,
        message: `tentative stock of ${b} would be ${l.tentative}`,
      })
    }
  }
  for (const op of ops) {
    switch (op.kind) {
      case 'receive':
        if (!batches.has(op.batch))
          batches.set(op.batch, {
            item: op.item,
            expiry: op.expiry,
            unitCost: op.unitCost,
            supplier: op.supplier,
          })
        line(op.site, op.batch)!.tentative += op.quantity
        break
      case 'return':
      case 'transfer-in': {
        const l = line(op.site, op.batch)
        if (l) l.tentative += op.quantity
        break
      }
      case 'transfer-out':
        take(op, op.batch, op.quantity)
        break
      case 'dispense': {
        if (op.batch !== null) {
          take(op, op.batch, op.quantity)
          break
        }
        const lots = [...lines.values()]
          .filter((l) => l.site === op.site && l.item === op.item)
          .map((l) => ({ batch: l.batch, expiry: l.expiry, available: l.tentative, line: l }))
        const { picks, short } = allocateFefo(lots, op.quantity, op.hlc.wall)
        for (const p of picks) p.lot.line.tentative -= p.quantity
        if (short > 0) {
          warnings.push({
            kind: 'fefo-short',
            op: op.id,
            site: op.site,
            item: op.item,
            batch: null,
            tentative: -short,
            message: `${short} of ${op.item} not covered by unexpired stock`,
          })
        }
        break
      }
      case 'formulary-update':
        prices[op.item] = { settled: prices[op.item]?.settled ?? null, tentative: op.price }
        break
      default:
        break
    }
  }
  const out = [...lines.values()].filter((l) => site === null || l.site === site)
  out.sort((a, b) =>
    a.site < b.site
      ? -1
      : a.site > b.site
        ? 1
        : a.item < b.item
          ? -1
          : a.item > b.item
            ? 1
            : compareFefo(a, b),
  )
  return { site, lines: out, prices, warnings, applied: ops.map((o) => o.id) }
}
