/** What a device node's `GET /api/status` says of its relay link and what it has not yet had settled. */
export interface LinkStatus {
  relay: { connected: boolean; url: string; lastError: string | null }
  pending: { ops: number }
}

/** A stock receipt of 10 paracetamol (lot P-1), the `n`th of a test whose receipts are tagged `tag`. */
export const paracetamolReceipt = (tag: string, n: number) => ({
  id: `grn-${tag}${n}`,
  item: 'itm_para',
  batch: 'P-1',
  expiry: '2031-03-31',
  quantity: 10,
  unitCost: 3,
  supplier: 'CMST',
  grn: `G-${n}`,
})
