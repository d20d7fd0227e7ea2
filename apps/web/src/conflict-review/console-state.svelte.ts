import type { ConflictView, InventoryState, LoginReply, ResolutionRequest, StatusReply } from './relay-api.js'
import { RelayApiError, asRelayError, relayApi, setBearer } from './relay-api.js'

export type Filter = 'open' | 'resolved' | 'all'

/**
 * The console's sign-in, kept in **sessionStorage** (docs/relay-api.md): a reload of the tab stays signed in, but
 * closing the tab (or the browser) ends it on a shared office PC, and other tabs and sites never see it. The token is
 * sent as a bearer header, never as a cookie, so another site's page cannot make the browser use it.
 */
const SESSION_KEY = 'clinic-mesh.relay-session'
/** The clinic and user id last signed in with (no secret): filled in on the next sign-in. */
const LAST_KEY = 'clinic-mesh.reviewer'

export interface ConsoleSession {
  token: string
  /** A clinic's signed-in reviewer, or the relay operator's token (every clinic; decides only where there are no users). */
  kind: 'user' | 'operator'
  clinic: string | null
  user: LoginReply['user'] | null
  expiresAt: string | null
}

function loadSession(): ConsoleSession | null {
  try {
    const raw = sessionStorage.getItem(SESSION_KEY)
    if (!raw) return null
    const s = JSON.parse(raw) as ConsoleSession
    if (typeof s.token !== 'string' || (s.expiresAt !== null && Date.parse(s.expiresAt) <= Date.now()))
      return null
    return s
  } catch {
    return null // storage unavailable or garbage: sign in again
  }
}

function loadLast(): { clinic: string; user: string } {
  try {
    const raw = localStorage.getItem(LAST_KEY)
    const v = raw ? (JSON.parse(raw) as { clinic?: unknown; user?: unknown }) : {}
    return {
      clinic: typeof v.clinic === 'string' ? v.clinic : '',
      user: typeof v.user === 'string' ? v.user : '',
    }
  } catch {
    return { clinic: '', user: '' }
  }
}

/**
 * The console's state: every conflict of every clinic the relay knows (the filters are applied here, so the chart
 * always counts them all), each clinic's settled inventory (item names, lots for "switch lot"), polled.
 */
export class ConsoleState {
  conflicts = $state<ConflictView[]>([])
  inventories = $state<Record<string, InventoryState>>({})
  /** Every clinic the relay serves, with or without conflicts (GET /api/status). */
  clinicStatus = $state<NonNullable<StatusReply['clinics']>>([])
  filter = $state<Filter>('open')
  clinic = $state<string>('')
  session = $state<ConsoleSession | null>(null)
  /** What the sign-in form holds (the password is never stored). */
  signIn = $state({ ...loadLast(), password: '' })
  signInError = $state<RelayApiError | null>(null)
  /** Why the console asks to sign in again (the session ended or expired). */
  signedOutReason = $state<string | null>(null)
  loadedAt = $state<string | null>(null)
  loadError = $state<RelayApiError | null>(null)
  /** The conflict this reviewer resolved last (its card leaves the open queue: the console confirms it). */
  lastResolved = $state<ConflictView | null>(null)

  readonly clinics = $derived([...new Set(this.conflicts.map((c) => c.clinic))].sort())
  readonly openCount = $derived(this.conflicts.filter((c) => c.status === 'open').length)
  readonly resolvedCount = $derived(this.conflicts.filter((c) => c.status === 'resolved').length)
  readonly shown = $derived(
    this.conflicts
      .filter(
        (c) =>
          (this.filter === 'all' || c.status === this.filter) &&
          (this.clinic === '' || c.clinic === this.clinic),
      )
      .sort((a, b) => Number(b.critical) - Number(a.critical) || a.at.localeCompare(b.at)),
  )

  #latest = 0

  constructor() {
    const s = loadSession()
    if (s) this.#use(s)
  }

  #use(s: ConsoleSession | null): void {
    this.session = s
    setBearer(s?.token ?? null)
    try {
      if (s) sessionStorage.setItem(SESSION_KEY, JSON.stringify(s))
      else sessionStorage.removeItem(SESSION_KEY)
    } catch {
      // not kept: a reload asks to sign in again
    }
  }

  /** `POST /api/login` with the form's clinic, user and password; the password is cleared either way. */
  async login(): Promise<void> {
    const { clinic, user, password } = this.signIn
    this.signInError = null
    try {
      const r = await relayApi.login(clinic.trim(), user.trim(), password)
      this.signIn.password = ''
      try {
        localStorage.setItem(LAST_KEY, JSON.stringify({ clinic: r.clinic, user: user.trim() }))
      } catch {
        // typed again next time
      }
      this.#signedIn({ token: r.token, kind: 'user', clinic: r.clinic, user: r.user, expiresAt: r.expiresAt })
    } catch (err) {
      this.signInError = asRelayError(err, 'InternalError')
    }
  }

  /** The relay operator's token (monitoring every clinic): checked by reading the relay's status with it. */
  async loginOperator(token: string): Promise<void> {
    this.signInError = null
    setBearer(token.trim())
    try {
      await relayApi.status()
      this.#signedIn({ token: token.trim(), kind: 'operator', clinic: null, user: null, expiresAt: null })
    } catch (err) {
      setBearer(null)
      this.signInError = asRelayError(err, 'InternalError')
    }
  }

  #signedIn(s: ConsoleSession): void {
    this.signedOutReason = null
    this.conflicts = []
    this.inventories = {}
    this.clinicStatus = []
    this.loadedAt = null
    this.loadError = null
    this.lastResolved = null
    this.#use(s)
  }

  async logout(): Promise<void> {
    const was = this.session
    if (was?.kind === 'user') await relayApi.logout().catch(() => undefined) // already ended: nothing to do
    this.#latest++
    this.#use(null)
    this.conflicts = []
    this.inventories = {}
    this.clinicStatus = []
    this.loadedAt = null
  }

  /** A 401 from the relay: the session is over (expired, or the relay restarted); ask to sign in again. */
  #ended(err: unknown): boolean {
    if (!(err instanceof RelayApiError) || err.name !== 'UnauthenticatedError') return false
    this.#latest++
    this.#use(null)
    this.signedOutReason = 'Your session has ended. Sign in again.'
    return true
  }

  async refresh(): Promise<void> {
    const mine = ++this.#latest
    try {
      const [{ conflicts }, status] = await Promise.all([relayApi.conflicts(), relayApi.status()])
      const clinics = [...new Set(conflicts.map((c) => c.clinic))]
      const inv = await Promise.all(
        clinics.map(async (k) => [k, (await relayApi.inventory(k)).inventory] as const),
      )
      // a poll that started before a resolution must not bring the resolved conflict back as open
      if (mine !== this.#latest) return
      this.conflicts = conflicts
      this.clinicStatus = status.clinics ?? []
      this.inventories = Object.fromEntries(inv)
      this.loadedAt = new Date().toISOString()
      this.loadError = null
    } catch (err) {
      if (mine !== this.#latest || this.#ended(err)) return
      this.loadError = asRelayError(err, 'InternalError')
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

  /**
   * Send a decision as the signed-in user (the relay takes user and role from the session); the relay's refusal
   * comes back as a RelayApiError (e.g. 403 ResolutionApprovalError).
   */
  async resolve(
    c: ConflictView,
    req: Omit<ResolutionRequest, 'clinic' | 'user' | 'role'>,
  ): Promise<ConflictView> {
    const s = this.session
    try {
      const me = s?.user
        ? { user: s.user.id, role: s.user.role }
        : { user: 'relay-operator', role: 'reviewer' as const }
      const out = await relayApi.resolve(c.id, { ...req, clinic: c.clinic, ...me })
      this.lastResolved = out.conflict
      return out.conflict
    } catch (err) {
      this.#ended(err)
      throw err
    } finally {
      if (this.session) await this.refresh()
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
