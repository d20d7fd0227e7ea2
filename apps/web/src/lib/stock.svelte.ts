import type { DispenseRequestSchema, ReceiptRequestSchema } from '@clinic-mesh/contracts'
import {
  StockOperationReplySchema,
  StockReplySchema,
  type Input,
  type StockReply,
} from '@clinic-mesh/contracts'
import { api, ApiError } from './api.js'

/** One lot as the device node reports it: settled (relay) and tentative (with unsettled operations) apart. */
export interface StockLine {
  item: string
  itemName: string
  batch: string
  expiry: string
  settled: number
  tentative: number
  /** The item's price as this device knows it (minor units; tentative: with formulary updates not settled yet). */
  price: number
}

/** A formulary entry as `GET /api/stock` reports it (the relay's settled formulary). */
export type FormularyItem = StockReply['items'][string] & { id: string }

/** A dispense as this tablet queues it: the request body (@clinic-mesh/contracts) and what the label and the outbox show. */
export type DispenseRequest = Input<typeof DispenseRequestSchema> & {
  user: string
  role: string
  label: string
  queuedAt: string
}

const STOCK_KEY = 'clinic-mesh.stock'
const OUTBOX_KEY = 'clinic-mesh.outbox'
const RETRY_MIN_MS = 1000
const RETRY_MAX_MS = 15_000

/** A goods-received note as the pharmacy enters it (quantities in units, cost in minor units): a receipt request without its id. */
export type ReceiptInput = Omit<Input<typeof ReceiptRequestSchema>, 'id'>

/** The lots of `GET /api/stock` as the stock table shows them (docs/api.md). */
export function parseStock(reply: StockReply): StockLine[] {
  return reply.lines.map((l) => ({
    item: l.item,
    itemName: l.itemName ?? l.item,
    batch: l.batch,
    expiry: l.expiry,
    settled: l.settled,
    tentative: l.tentative,
    price: reply.prices[l.item]?.tentative ?? reply.items[l.item]?.price ?? 0,
  }))
}

function read<T>(key: string, fallback: T): T {
  try {
    const raw = localStorage.getItem(key)
    return raw ? (JSON.parse(raw) as T) : fallback
  } catch {
    return fallback
  }
}

/**
 * Stock and dispensing for the pharmacy screen. The stock view is the device node's (cached here with its
 * time, so it still shows during an outage, marked as old). A dispense goes to the node's API; when the node
 * cannot be reached it waits in this tablet's outbox (localStorage) and is sent again with the same
 * idempotency id, so a retry never dispenses twice.
 */
export class Stock {
  // a cache written before lines carried a price reads as price 0 (the relay raises price-changed, nothing is lost)
  lines = $state<StockLine[]>(
    read<{ lines: Array<Omit<StockLine, 'price'> & { price?: number }> }>(STOCK_KEY, { lines: [] }).lines.map(
      (l) => ({ ...l, price: l.price ?? 0 }),
    ),
  )
  fetchedAt = $state<string | undefined>(read<{ at?: string }>(STOCK_KEY, {}).at)
  /** When the relay last settled this clinic's stock (the device's `settledAt`; undefined: never). */
  settledAt = $state<string | undefined>(read<{ settledAt?: string }>(STOCK_KEY, {}).settledAt)
  /** The formulary as the device node last reported it (item id → entry). */
  items = $state<StockReply['items']>(read<{ items?: StockReply['items'] }>(STOCK_KEY, {}).items ?? {})
  outbox = $state<DispenseRequest[]>(read<DispenseRequest[]>(OUTBOX_KEY, []))
  lastError = $state<string | undefined>(undefined)
  /**
   * The node refused the waiting dispenses for want of a (fresh) sign-in (401: session ended, or the signing key is
   * locked since the node restarted). They stay here until someone signs in again.
   */
  needsSignIn = $state(false)
  /** Dispenses the node accepted in this session (for the label). */
  sent = $state<DispenseRequest[]>([])

  async refresh(): Promise<void> {
    try {
      const reply = await api('GET', '/api/stock', StockReplySchema)
      this.lines = parseStock(reply)
      this.items = reply.items
      this.fetchedAt = new Date().toISOString()
      this.settledAt = reply.settledAt ?? undefined
      localStorage.setItem(
        STOCK_KEY,
        JSON.stringify({
          lines: this.lines,
          items: this.items,
          at: this.fetchedAt,
          settledAt: this.settledAt,
        }),
      )
    } catch (err) {
      // keep the cached figures; the stock view shows their time and that the node is not reachable. A reply of
      // another shape than the contract's is said, not guessed at.
      if (err instanceof ApiError && err.name === 'MalformedReplyError')
        this.lastError = `${err.name}: ${err.message}`
    }
  }

  /**
   * Records goods received (a GRN) on the device node. Not queued like a dispense: a delivery is counted with the
   * node up (the pharmacist sees at once if it was refused, e.g. a lot already received with another expiry).
   */
  async receive(grn: ReceiptInput): Promise<void> {
    await api('POST', '/api/stock/receipts', StockOperationReplySchema, {
      ...grn,
      id: `op_${crypto.randomUUID()}`,
    } satisfies Input<typeof ReceiptRequestSchema>)
    await this.refresh()
  }

  /** The active formulary entries, by name: what a clinician prescribes from. */
  get formulary(): FormularyItem[] {
    return Object.entries(this.items)
      .filter(([, it]) => it.status === 'active')
      .map(([id, it]) => ({ ...it, id }))
      .sort((a, b) => a.name.localeCompare(b.name))
  }

  /** Units of this lot in dispenses still waiting on this tablet (not yet known to the node). */
  waitingHere(item: string, batch: string): number {
    return this.outbox.filter((r) => r.item === item && r.batch === batch).reduce((n, r) => n + r.quantity, 0)
  }

  /** Queues a dispense and tries to send it at once. */
  async dispense(req: Omit<DispenseRequest, 'id' | 'queuedAt'>): Promise<DispenseRequest> {
    const full: DispenseRequest = {
      ...req,
      id: `op_${crypto.randomUUID()}`,
      queuedAt: new Date().toISOString(),
    }
    this.outbox = [...this.outbox, full]
    this.#save()
    await this.flush()
    return full
  }

  /** Sends every queued dispense; keeps those the node could not be reached for. */
  async flush(): Promise<void> {
    if (this.#flushing) return this.#flushing
    this.#flushing = this.#flush().finally(() => (this.#flushing = undefined))
    return this.#flushing
  }

  #flushing: Promise<void> | undefined
  #retry: ReturnType<typeof setTimeout> | undefined
  #retryMs = RETRY_MIN_MS

  async #flush(): Promise<void> {
    clearTimeout(this.#retry)
    this.#retry = undefined
    for (const req of [...this.outbox]) {
      try {
        await api('POST', '/api/stock/dispenses', StockOperationReplySchema, req)
        this.#drop(req.id)
        this.sent = [...this.sent, req]
        this.lastError = undefined
        this.needsSignIn = false
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) {
          // not refused for what it is but for who sends it: keep it until someone signs in again
          this.needsSignIn = true
          break
        } else if (err instanceof ApiError && err.status >= 400 && err.status < 500) {
          this.#drop(req.id) // refused: retrying would not help; the pharmacist sees why
          this.lastError = `${err.name}: ${err.message}`
        } else {
          // unreachable, still starting (503) or failing node: the dispense stays in the outbox, the status bar says so
          break
        }
      }
    }
    if (this.outbox.length > 0) {
      // a node that answers again but was not ready (503), or a sign-in still to come: try again, backing off
      this.#retry = setTimeout(() => void this.flush(), this.#retryMs)
      this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS)
    } else this.#retryMs = RETRY_MIN_MS
    await this.refresh()
  }

  #drop(id: string): void {
    this.outbox = this.outbox.filter((r) => r.id !== id)
    this.#save()
  }

  #save(): void {
    localStorage.setItem(OUTBOX_KEY, JSON.stringify(this.outbox))
  }
}
