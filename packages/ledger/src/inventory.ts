import type { BatchId, ItemId, LocationId } from '@clinic-mesh/contracts'

/** The relay's current formulary entry for an item. */
export interface ItemState {
  readonly name: string
  readonly price: number
  readonly status: 'active' | 'withdrawn'
  readonly controlled: boolean
}

export interface BatchState {
  readonly item: ItemId
  readonly expiry: string // YYYY-MM-DD, last day of use
  readonly unitCost: number
  readonly supplier: string
}

/**
 * Settled ("centrally reconciled") inventory as the relay publishes it to devices: plain JSON.
 * `stock[site][batch]` is the settled quantity of a lot at a site.
 */
export interface InventoryState {
  readonly items: Readonly<Record<ItemId, ItemState>>
  readonly batches: Readonly<Record<BatchId, BatchState>>
  readonly stock: Readonly<Record<LocationId, Readonly<Record<BatchId, number>>>>
  /**
   * Prescriptions whose status was changed centrally (on hold, cancelled, superseded, released): what a device
   * checks before it records a dispense. Absent while there are none.
   */
  readonly prescriptions?: Readonly<Record<string, PrescriptionStatusState>>
}

/** A prescription's central status as published (the ledger's `PrescriptionState`). */
export interface PrescriptionStatusState {
  readonly hash: string
  readonly status: 'active' | 'on-hold' | 'superseded' | 'cancelled'
  readonly reason?: string
  readonly at?: string
}

export const EMPTY_INVENTORY: InventoryState = { items: {}, batches: {}, stock: {} }

/** First instant (UTC ms) at which a lot with this expiry date may no longer be used. */
export function expiryEnd(expiry: string): number {
  return Date.parse(`${expiry}T00:00:00Z`) + 86_400_000
}
