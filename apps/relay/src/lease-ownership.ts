import type pg from 'pg'
import type { ClinicOwnership, Fence, OwnershipEvents } from './relay-state.js'

export interface LeaseInit {
  /** this instance's name in the leases */
  readonly owner: string
  /** how long a lease lasts without renewal (default 2000 ms): the takeover time after an instance dies */
  readonly leaseMs?: number
  /**
   * How long past its expiry a lease stays with an owner that is still connected to the database (default 10 leases):
   * an overloaded instance whose renewals come late keeps its clinics (P12 at 100 clinics saw renewals 8–11 s apart
   * after a kill); a killed one (its connections gone) loses them at expiry.
   */
  readonly liveGraceMs?: number
}

/** How late the renewals of this instance's leases ran (event loop delay, slow database). */
export interface RenewalLateness {
  /** renewals sent */
  readonly renewals: number
  /** renewals that came more than a quarter lease after they were due */
  readonly late: number
  /** the longest time between two renewals, in ms (due: a quarter lease) */
  readonly maxGapMs: number
}

/**
 * Whether the lease row `l` may be taken: expired for `$fair` ms, and either its owner has no connection to the
 * database (killed: its sockets closed), it is ours, it was released, or it expired `$live` ms ago (an owner that is
 * connected but silent that long: stopped, or a host gone without closing its sockets).
 */
const TAKEABLE = (fair: string, live: string, me: string): string => `
  l.expires_at < clock_timestamp() - ${fair} * interval '1 millisecond'
  AND (l.expires_at < clock_timestamp() - ${live} * interval '1 millisecond'
       OR l.owner = ${me} OR l.owner LIKE 'released %'
       OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = l.owner))`

/**
 * Leases in table relay_leases, on the database's clock: one row per clinic (owner, epoch, expires_at), never
 * deleted, so the epoch only grows. Taking a clinic bumps its epoch (only once the lease expired); renewing extends
 * every lease this instance holds in one statement, every leaseMs/4; a lease missing from the renewal was taken
 * over. Clinics with no lease or an expired one are looked for on the same beat.
 */
export class LeaseOwnership implements ClinicOwnership {
  readonly owner: string
  readonly #pool: pg.Pool
  readonly #leaseMs: number
  readonly #fences = new Map<string, Fence>()
  #timer: NodeJS.Timeout | null = null
  #beat: Promise<void> = Promise.resolve()
  /** this instance's fair share of leases, from the last heartbeat (see acquire) */
  #limit = Number.POSITIVE_INFINITY
  #beats = 0
  readonly #liveGraceMs: number
  #lastRenewal = 0
  #lateness: RenewalLateness = { renewals: 0, late: 0, maxGapMs: 0 }
  /** where devices reach this instance (`--public-url`), recorded with each heartbeat; null: not advertised */
  publicUrl: string | null = null

  /**
   * `pool`'s connections must carry `application_name` = `init.owner` (and stay open: `idleTimeoutMillis: 0`): other
   * instances judge this one alive by them.
   */
  /** How long past its expiry a connected owner keeps a lease (see LeaseInit). */
  get liveGraceMs(): number {
    return this.#liveGraceMs
  }

  get leaseMs(): number {
    return this.#leaseMs
  }

  constructor(pool: pg.Pool, init: LeaseInit) {
    this.#pool = pool
    this.owner = init.owner
    this.#leaseMs = init.leaseMs ?? 2000
    this.#liveGraceMs = init.liveGraceMs ?? 10 * this.#leaseMs
  }

  /** How late this instance's renewals ran since it started. */
  get lateness(): RenewalLateness {
    return this.#lateness
  }

  /**
   * Take the clinic's lease if it is free. Fair placement: an instance holding its fair share already
   * (`ceil(clinics / live instances) + 1`, from the heartbeat) takes a lease freed less than a lease's length ago only
   * after that grace, so an instance under its share that serves the clinic takes it first; a clinic nobody else
   * serves is still taken, late. A clinic never leased (just registered here) is taken at once. An expired lease
   * whose owner is still connected is taken only `liveGraceMs` after its expiry (TAKEABLE).
   */
  async acquire(clinic: string): Promise<Fence | null> {
    const grace = this.#fences.size >= this.#limit ? this.#leaseMs : 0
    const { rows } = await this.#pool.query<{ epoch: string }>(
      `INSERT INTO relay_leases AS l (clinic, owner, epoch, expires_at)
         VALUES ($1, $2, 1, clock_timestamp() + $3 * interval '1 millisecond')
       ON CONFLICT (clinic) DO UPDATE
         SET owner = EXCLUDED.owner, epoch = l.epoch + 1, expires_at = EXCLUDED.expires_at
         WHERE ${TAKEABLE('$4', '$5', '$2')}
       RETURNING epoch`,
      [clinic, this.owner, this.#leaseMs, grace, Math.max(grace, this.#liveGraceMs)],
    )
    if (!rows[0]) return null
    const fence = { owner: this.owner, epoch: Number(rows[0].epoch) }
    this.#fences.set(clinic, fence)
    return fence
  }

  fenceOf(clinic: string): Fence | undefined {
    return this.#fences.get(clinic)
  }

  async release(clinic: string): Promise<void> {
    const fence = this.#fences.get(clinic)
    if (!fence) return
    this.#fences.delete(clinic)
    // 'released': free for anyone at once, though this instance is still connected
    await this.#pool.query(
      `UPDATE relay_leases SET expires_at = clock_timestamp() - interval '1 millisecond', owner = 'released ' || owner
       WHERE clinic = $1 AND owner = $2 AND epoch = $3`,
      [clinic, fence.owner, fence.epoch],
    )
  }

  /** How many leases this instance holds. */
  get held(): number {
    return this.#fences.size
  }

  /** This instance's fair share of leases as of the last heartbeat. */
  get limit(): number {
    return this.#limit
  }

  /**
   * Record this instance as live (table relay_instances) and recompute its fair share of leases from the live
   * instances (seen within 3 lease lengths) and the registered clinics. Runs every fourth beat (once per lease
   * length), and once before the instance takes anything.
   */
  async heartbeat(): Promise<void> {
    // one round trip: the lease pool's two connections are for renewals first
    const { rows } = await this.#pool.query<{ live: string; clinics: string }>(
      `WITH me AS (
         INSERT INTO relay_instances (owner, seen_at, public_url) VALUES ($1, clock_timestamp(), $3)
         ON CONFLICT (owner) DO UPDATE SET seen_at = EXCLUDED.seen_at, public_url = EXCLUDED.public_url
         RETURNING owner)
       SELECT (SELECT count(*) FROM me) + (SELECT count(*) FROM relay_instances
                WHERE owner <> $1 AND seen_at > clock_timestamp() - $2 * interval '1 millisecond') AS live,
              (SELECT count(*) FROM relay_clinics) AS clinics`,
      [this.owner, 3 * this.#leaseMs, this.publicUrl],
    )
    const live = Math.max(1, Number(rows[0]?.live ?? 1))
    this.#limit = Math.ceil(Number(rows[0]?.clinics ?? 0) / live) + 1
  }

  start(events: OwnershipEvents): void {
    const tick = (): void => {
      this.#beat = this.#tick(events).catch(() => {
        // the database is unreachable: leases are not renewed; the fence refuses writes once another instance took
        // over, and the next beat tries again
      })
      this.#timer = setTimeout(() => void this.#beat.then(tick), this.#leaseMs / 4)
    }
    this.#timer = setTimeout(tick, this.#leaseMs / 4)
  }

  async stop(): Promise<void> {
    const running = this.#timer !== null
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    await this.#beat
    // a clean stop: the others' fair share grows at once
    if (running)
      await this.#pool.query('DELETE FROM relay_instances WHERE owner = $1', [this.owner]).catch(() => {})
  }

  /**
   * Renew every lease this instance holds (one statement; a late renewal still keeps a lease nobody took) and
   * return the clinics lost: those whose lease another instance took meanwhile.
   */
  async renew(): Promise<string[]> {
    const now = performance.now()
    if (this.#lastRenewal > 0) {
      const gap = now - this.#lastRenewal
      const { renewals, late, maxGapMs } = this.#lateness
      this.#lateness = {
        renewals: renewals + 1,
        late: late + (gap > this.#leaseMs / 2 ? 1 : 0),
        maxGapMs: Math.max(maxGapMs, Math.round(gap)),
      }
    }
    this.#lastRenewal = now
    // only the leases held when the renewal was sent are judged by it (one taken meanwhile is not in its answer)
    const renewing = [...this.#fences]
    if (renewing.length === 0) return []
    const { rows } = await this.#pool.query<{ clinic: string; epoch: string }>(
      `UPDATE relay_leases SET expires_at = clock_timestamp() + $2 * interval '1 millisecond'
       WHERE owner = $1 AND clinic = ANY($3::text[]) RETURNING clinic, epoch`,
      [this.owner, this.#leaseMs, renewing.map(([clinic]) => clinic)],
    )
    const held = new Map(rows.map((r) => [r.clinic, Number(r.epoch)]))
    const lost: string[] = []
    for (const [clinic, fence] of renewing) {
      if (held.get(clinic) === fence.epoch || this.#fences.get(clinic) !== fence) continue
      this.#fences.delete(clinic)
      lost.push(clinic)
    }
    return lost
  }

  /** The registered clinics this instance may take now (no lease, or a takeable one: TAKEABLE) and does not hold. */
  async orphans(): Promise<string[]> {
    const { rows } = await this.#pool.query<{ clinic: string }>(
      `SELECT c.clinic FROM relay_clinics c LEFT JOIN relay_leases l ON l.clinic = c.clinic
       WHERE l.clinic IS NULL OR (${TAKEABLE('0', '$1', '$2')})`,
      [this.#liveGraceMs, this.owner],
    )
    return rows.map((r) => r.clinic).filter((c) => !this.#fences.has(c))
  }

  /** One beat: renew, report the leases lost, heartbeat, then the clinics nobody settles. */
  async #tick(events: OwnershipEvents): Promise<void> {
    for (const clinic of await this.renew()) events.lost(clinic)
    // once per lease length, after the renewal (never delaying it)
    if (this.#beats++ % 4 === 0) await this.heartbeat()
    const orphans = await this.orphans()
    if (orphans.length > 0) events.orphaned(orphans)
  }
}
