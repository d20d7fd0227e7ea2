import type pg from 'pg'

/**
 * Where a clinic's devices should sync: the public URL of the instance holding its lease (`--public-url`, recorded in
 * relay_instances by its heartbeat), when that owner is alive — its lease not expired past the live grace, its
 * heartbeat fresh and a connection of it open (a killed instance's connections close with it: never a redirect to
 * it). An instance without a public URL is never redirected to; it serves the clinic's devices itself (the fan-out).
 */
export class InstanceRoutes {
  readonly #pool: pg.Pool
  readonly #owner: string
  readonly #leaseMs: number
  readonly #liveGraceMs: number

  constructor(pool: pg.Pool, owner: string, leaseMs: number, liveGraceMs: number) {
    this.#pool = pool
    this.#owner = owner
    this.#leaseMs = leaseMs
    this.#liveGraceMs = liveGraceMs
  }

  /** The live owner's public URL when another instance settles `clinic`; undefined: nobody else (serve it here). */
  async ownerUrl(clinic: string): Promise<string | undefined> {
    const { rows } = await this.#pool.query<{ public_url: string }>(
      `SELECT i.public_url FROM relay_leases l JOIN relay_instances i ON i.owner = l.owner
       WHERE l.clinic = $1 AND l.owner <> $2 AND i.public_url IS NOT NULL
         AND l.expires_at > clock_timestamp() - $3 * interval '1 millisecond'
         AND i.seen_at > clock_timestamp() - $4 * interval '1 millisecond'
         AND EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = l.owner)`,
      [clinic, this.#owner, this.#liveGraceMs, 3 * this.#leaseMs],
    )
    return rows[0]?.public_url
  }
}
