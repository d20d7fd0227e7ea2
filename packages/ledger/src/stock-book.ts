import type { BatchId, ItemId, LocationId, OperationId } from '@clinic-mesh/contracts'
import type { Hlc } from './hlc.js'
import { compareHlc } from './hlc.js'
import type { FefoLot } from './fefo.js'
import type { BatchState, InventoryState, ItemState } from './inventory.js'

/** A formulary version: valid from `at` (HLC of the authority's update) until the next one. */
export interface ItemVersion extends ItemState {
  readonly at: Hlc
}

export type BatchInfo = BatchState

/** Settled quantity of one lot at one site; shared by the by-batch map and the by-item list. */
export interface Cell {
  readonly batch: BatchId
  readonly item: ItemId
  readonly expiry: string
  qty: number
}

/** A settled lot as a FEFO candidate: its settled quantity is what may be drawn. */
export interface SettledLot extends FefoLot {
  readonly batch: BatchId
}

/** One settled stock movement (kept only when the engine's journal is on). */
export interface JournalEntry {
  readonly op: OperationId
  readonly site: LocationId
  readonly batch: BatchId
  readonly delta: number
  readonly cause: string
}

export interface Move {
  readonly site: LocationId
  readonly batch: BatchId
  readonly delta: number
}

/** The relay's authoritative stock tables, indexed by site → batch and site → item. */
export class StockBook {
  readonly items = new Map<string, ItemVersion[]>()
  readonly batches = new Map<string, BatchInfo>()
  readonly cells = new Map<string, Map<string, Cell>>()
  readonly byItem = new Map<string, Map<string, Cell[]>>()
  journal: JournalEntry[] | null = null

  /** Formulary version in force at `at` (the earliest known one if `at` precedes them all). */
  versionAt(item: string, at: Hlc): ItemVersion | undefined {
    const versions = this.items.get(item)
    if (!versions) return undefined
    for (let i = versions.length - 1; i >= 0; i--) {
      const v = versions[i]!
      if (compareHlc(v.at, at) <= 0) return v
    }
    return versions[0]
  }

  current(item: string): ItemVersion | undefined {
    const versions = this.items.get(item)
    return versions ? versions[versions.length - 1] : undefined
  }

  addVersion(item: string, version: ItemVersion): void {
    let versions = this.items.get(item)
    if (!versions) this.items.set(item, (versions = []))
    let i = versions.length
    while (i > 0 && compareHlc(versions[i - 1]!.at, version.at) > 0) i--
    versions.splice(i, 0, version)
  }

  addBatch(batch: BatchId, info: BatchState): BatchInfo {
    const copy: BatchInfo = { ...info }
    this.batches.set(batch, copy)
    return copy
  }

  cell(site: string, batch: string): Cell | undefined {
    return this.cells.get(site)?.get(batch)
  }

  qty(site: string, batch: string): number {
    return this.cells.get(site)?.get(batch)?.qty ?? 0
  }

  /** Lots of an item at a site as FEFO candidates, in no particular order (`allocateFefo` orders them). */
  lots(site: string, item: string): SettledLot[] {
    const cells = this.byItem.get(site)?.get(item) ?? []
    return cells.map((cell) => ({ batch: cell.batch, expiry: cell.expiry, available: cell.qty }))
  }

  ensureCell(site: string, batch: string, info: BatchInfo): Cell {
    let bySite = this.cells.get(site)
    if (!bySite) this.cells.set(site, (bySite = new Map<string, Cell>()))
    let cell = bySite.get(batch)
    if (cell) return cell
    cell = { batch: batch as BatchId, item: info.item, expiry: info.expiry, qty: 0 }
    bySite.set(batch, cell)
    let byItem = this.byItem.get(site)
    if (!byItem) this.byItem.set(site, (byItem = new Map<string, Cell[]>()))
    let list = byItem.get(info.item)
    if (!list) byItem.set(info.item, (list = []))
    list.push(cell)
    return cell
  }

  /** Apply a settled movement (callers have checked it keeps the lot non-negative). */
  move(site: LocationId, batch: BatchId, delta: number, op: OperationId, cause: string): void {
    const info = this.batches.get(batch)
    if (!info) throw new Error(`stock book: unknown batch ${batch}`)
    const cell = this.cell(site, batch) ?? this.ensureCell(site, batch, info)
    cell.qty += delta
    if (this.journal) this.journal.push({ op, site, batch, delta, cause })
  }

  /** Whether all moves together keep every touched lot ≥ 0 (and name only known batches). */
  canApply(moves: readonly Move[]): boolean {
    const after = new Map<string, number>()
    for (const m of moves) {
      if (!this.batches.has(m.batch)) return false
      const key = `${m.site}\u0000${m.batch}`
      const q = (after.get(key) ?? this.qty(m.site, m.batch)) + m.delta
      if (q < 0) return false
      after.set(key, q)
    }
    return true
  }

  toState(): InventoryState {
    const items: Record<string, ItemState> = {}
    for (const [id, versions] of this.items) {
      const { name, price, status, controlled } = versions[versions.length - 1]!
      items[id] = { name, price, status, controlled }
    }
    const batches: Record<string, BatchState> = {}
    for (const [id, { item, expiry, unitCost, supplier }] of this.batches) {
      batches[id] = { item, expiry, unitCost, supplier }
    }
    const stock: Record<string, Record<string, number>> = {}
    for (const [site, bySite] of this.cells) {
      const lots: Record<string, number> = (stock[site] = {})
      for (const [batch, cell] of bySite) lots[batch] = cell.qty
    }
    return { items, batches, stock }
  }
}
