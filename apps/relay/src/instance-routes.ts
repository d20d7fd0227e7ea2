import type pg from 'pg'

/**
 * Where a clinic's devices should sync: the public URL of the instance holding its lease (`--public-url`, recorded in
 * relay_instances by its heartbeat), when that owner is alive — its lease not expired past the live grace and a
 * connection of it open (a killed instance's connections close with it: never a redirect to it). Not the heartbeat's
 * age: an instance under load heartbeats late (P12 at 300 clinics) and is still where its clinics are settled. An instance without a public URL is never redirected to; it serves the clinic's devices itself (the fan-out).
 */
export class InstanceRoutes {
  readonly #pool: pg.Pool
  readonly #owner: string
  readonly #liveGraceMs: number

  constructor(pool: pg.Pool, owner: string, liveGraceMs: number) {
    this.#pool = pool
    this.#owner = owner
    this.#liveGraceMs = liveGraceMs
  }

  /** The live owner's public URL when another instance settles `clinic`; undefined: nobody else (serve it here). */
  async ownerUrl(clinic: string): Promise<string | undefined> {
    return (await this.ownerUrls([clinic])).get(clinic)
  }

  /** `ownerUrl` of several clinics in one query: clinic → URL, for those another live instance settles. */
  async ownerUrls(clinics: readonly string[]): Promise<Map<string, string>> {
    const { rows } = await this.#pool.query<{ clinic: string; public_url: string }>(
      `SELECT l.clinic, i.public_url FROM relay_leases l JOIN relay_instances i ON i.owner = l.owner
       WHERE l.clinic = ANY($1::text[]) AND l.owner <> $2 AND i.public_url IS NOT NULL
         AND l.expires_at > clock_timestamp() - $3 * interval '1 millisecond'
         AND EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = l.owner)`,
      [clinics, this.#owner, this.#liveGraceMs],
    )
    return new Map(rows.map((r) => [r.clinic, r.public_url]))
  }
}
