import type { ConflictView, InventoryState, ResolutionRequest, StatusReply } from './relay-api.js'
import { RelayApiError, relayApi } from './relay-api.js'

export type Filter = 'open' | 'resolved' | 'all'

const REVIEWER_KEY = 'clinic-mesh.reviewer'

export interface Reviewer {
  user: string
  role: 'reviewer' | 'pharmacist' | 'supervisor'
}

function loadReviewer(): Reviewer {
  try {
    const raw = localStorage.getItem(REVIEWER_KEY)
    if (raw) return JSON.parse(raw) as Reviewer
  } catch {
    // storage unavailable or garbage: start empty
  }
  return { user: '', role: 'reviewer' }
}

/**
 * The console's state: every conflict of every clinic the relay knows (the filters are applied here, so the chart
 * always counts them all), each clinic's settled inventory (item names, lots for "switch lot"), polled.
 */
export class ConsoleState {
  conflicts = $state<ConflictView[]>([])
  inventories = $state<Record<string, InventoryState>>({})
  /** Every clinic the relay serves, with or without conflicts (GET /api/status). */
  clinicStatus = $state<StatusReply['clinics']>([])
  filter = $state<Filter>('open')
  clinic = $state<string>('')
  reviewer = $state<Reviewer>(loadReviewer())
  /** Never stored: typed for each session of the console, sent only with a decision. */
  password = $state('')
  loadedAt = $state<string | null>(null)
  loadError = $state<RelayApiError | null>(null)
  /** The conflict this reviewer resolved last (its card leaves the open queue: the console confirms it). */
  lastResolved = $state<ConflictView | null>(null)

  readonly clinics = $derived([...new Set(this.conflicts.map((c) => c.clinic))].sort())
  readonly openCount = $derived(this.conflicts.filter((c) => c.status === 'open').length)
  readonly resolvedCount = $derived(this.conflicts.filter((c) => c.status === 'resolved').length)
  readonly shown = $derived(
    this.conflicts
      .filter((c) => (this.filter === 'all' || c.status === this.filter) && (this.clinic === '' || c.clinic === this.clinic))
      .sort((a, b) => Number(b.critical) - Number(a.critical) || a.at.localeCompare(b.at)),
  )

  #latest = 0

  async refresh(): Promise<void> {
    const mine = ++this.#latest
    try {
      const [{ conflicts }, status] = await Promise.all([relayApi.conflicts(), relayApi.status()])
      const clinics = [...new Set(conflicts.map((c) => c.clinic))]
      const inv = await Promise.all(clinics.map(async (k) => [k, (await relayApi.inventory(k)).inventory] as const))
      // a poll that started before a resolution must not bring the resolved conflict back as open
      if (mine !== this.#latest) return
      this.conflicts = conflicts
      this.clinicStatus = status.clinics
      this.inventories = Object.fromEntries(inv)
      this.loadedAt = new Date().toISOString()
      this.loadError = null
    } catch (err) {
      if (mine !== this.#latest) return
      this.loadError = err instanceof RelayApiError ? err : new RelayApiError('InternalError', String(err), 0)
    }
  }

  /** Poll every `ms`; returns the teardown (for `$effect`). */
  poll(ms = 3000): () => void {
    let stopped = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const tick = async (): Promise<void> => {
      await this.refresh()
      if (!stopped) timer = setTimeout(() => void tick(), ms)
    }
    void tick()
    return () => {
      stopped = true
      clearTimeout(timer)
    }
  }

  saveReviewer(): void {
    try {
      localStorage.setItem(REVIEWER_KEY, JSON.stringify(this.reviewer))
    } catch {
      // not persisted: the reviewer types it again next time
    }
  }

  /** Send a decision; the relay's refusal comes back as a RelayApiError (e.g. 403 ResolutionApprovalError). */
  async resolve(c: ConflictView, req: Omit<ResolutionRequest, 'clinic' | 'user' | 'role'>): Promise<ConflictView> {
    this.saveReviewer()
    try {
      const me = { user: this.reviewer.user.trim(), role: this.reviewer.role, ...(this.password ? { password: this.password } : {}) }
      const out = await relayApi.resolve(c.id, { ...req, clinic: c.clinic, ...me })
      this.lastResolved = out.conflict
      return out.conflict
    } finally {
      await this.refresh()
    }
  }

  itemName(c: ConflictView): string | null {
    if (c.item === null) return null
    return this.inventories[c.clinic]?.items[c.item]?.name ?? null
  }

  /** Lots of the conflict's item at its site, with settled quantity (for switch lot / write-off / adjustment). */
  lotsFor(c: ConflictView): { batch: string; expiry: string; qty: number }[] {
    const inv = this.inventories[c.clinic]
    if (!inv) return []
    const site = inv.stock[c.site] ?? {}
    return Object.entries(inv.batches)
      .filter(([, b]) => c.item === null || b.item === c.item)
      .map(([batch, b]) => ({ batch, expiry: b.expiry, qty: site[batch] ?? 0 }))
      .sort((a, b) => a.expiry.localeCompare(b.expiry))
  }
}
