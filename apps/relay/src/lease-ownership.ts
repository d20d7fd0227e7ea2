import type pg from 'pg'
import type { ClinicOwnership, Fence, OwnershipEvents } from './relay-state.js'

export interface LeaseInit {
  /** this instance's name in the leases */
  readonly owner: string
  /** how long a lease lasts without renewal (default 2000 ms): the takeover time after an instance dies */
  readonly leaseMs?: number
}

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

  constructor(pool: pg.Pool, init: LeaseInit) {
    this.#pool = pool
    this.owner = init.owner
    this.#leaseMs = init.leaseMs ?? 2000
  }

  /**
   * Take the clinic's lease if it is free. Fair placement: an instance holding its fair share already
   * (`ceil(clinics / live instances) + 1`, from the heartbeat) takes a lease freed less than a lease's length ago only
   * after that grace, so an instance under its share that serves the clinic takes it first; a clinic nobody else
   * serves is still taken, late. A clinic never leased (just registered here) is taken at once.
   */
  async acquire(clinic: string): Promise<Fence | null> {
    const grace = this.#fences.size >= this.#limit ? this.#leaseMs : 0
    const { rows } = await this.#pool.query<{ epoch: string }>(
      `INSERT INTO relay_leases AS l (clinic, owner, epoch, expires_at)
         VALUES ($1, $2, 1, clock_timestamp() + $3 * interval '1 millisecond')
       ON CONFLICT (clinic) DO UPDATE
         SET owner = EXCLUDED.owner, epoch = l.epoch + 1, expires_at = EXCLUDED.expires_at
         WHERE l.expires_at < clock_timestamp() - $4 * interval '1 millisecond'
       RETURNING epoch`,
      [clinic, this.owner, this.#leaseMs, grace],
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
    await this.#pool.query(
      `UPDATE relay_leases SET expires_at = clock_timestamp() - interval '1 millisecond'
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
         INSERT INTO relay_instances (owner, seen_at) VALUES ($1, clock_timestamp())
         ON CONFLICT (owner) DO UPDATE SET seen_at = EXCLUDED.seen_at RETURNING owner)
       SELECT (SELECT count(*) FROM me) + (SELECT count(*) FROM relay_instances
                WHERE owner <> $1 AND seen_at > clock_timestamp() - $2 * interval '1 millisecond') AS live,
              (SELECT count(*) FROM relay_clinics) AS clinics`,
      [this.owner, 3 * this.#leaseMs],
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

  /** One beat: renew, report the leases lost, heartbeat, then the clinics nobody settles. */
  async #tick(events: OwnershipEvents): Promise<void> {
    // only the leases held when the renewal was sent are judged by it (one taken meanwhile is not in its answer)
    const renewing = [...this.#fences]
    if (renewing.length > 0) {
      const { rows } = await this.#pool.query<{ clinic: string; epoch: string }>(
        `UPDATE relay_leases SET expires_at = clock_timestamp() + $2 * interval '1 millisecond'
         WHERE owner = $1 AND clinic = ANY($3::text[]) RETURNING clinic, epoch`,
        [this.owner, this.#leaseMs, renewing.map(([clinic]) => clinic)],
      )
      const held = new Map(rows.map((r) => [r.clinic, Number(r.epoch)]))
      for (const [clinic, fence] of renewing) {
        if (held.get(clinic) === fence.epoch || this.#fences.get(clinic) !== fence) continue
        this.#fences.delete(clinic)
        events.lost(clinic)
      }
    }
    // once per lease length, after the renewal (never delaying it)
    if (this.#beats++ % 4 === 0) await this.heartbeat()
    const { rows } = await this.#pool.query<{ clinic: string }>(
      `SELECT c.clinic FROM relay_clinics c LEFT JOIN relay_leases l ON l.clinic = c.clinic
       WHERE l.clinic IS NULL OR l.expires_at < clock_timestamp()`,
    )
    const orphans = rows.map((r) => r.clinic).filter((c) => !this.#fences.has(c))
    if (orphans.length > 0) events.orphaned(orphans)
  }
}
