import type pg from 'pg'
import type { ClinicEntry, RegistryBackend } from './clinic-registry.js'
import { RELAY_CHANNEL, inTransaction } from './pg-schema.js'

/** The clinic registry in table relay_clinics: every instance reads and registers through it. */
export class PostgresRegistryBackend implements RegistryBackend {
  readonly #pool: pg.Pool
  readonly #source: string

  /** `source`: this instance's name in notifications (it ignores its own). */
  constructor(pool: pg.Pool, source: string) {
    this.#pool = pool
    this.#source = source
  }

  async loadAll(): Promise<ClinicEntry[]> {
    const { rows } = await this.#pool.query<{ entry: ClinicEntry }>('SELECT entry FROM relay_clinics')
    return rows.map((r) => r.entry)
  }

  async load(clinic: string): Promise<ClinicEntry | undefined> {
    const { rows } = await this.#pool.query<{ entry: ClinicEntry }>(
      'SELECT entry FROM relay_clinics WHERE clinic = $1',
      [clinic],
    )
    return rows[0]?.entry
  }

  /** Read-modify-write under a row lock (a first registration: under an advisory lock on the clinic id). */
  update(clinic: string, fn: (existing: ClinicEntry | undefined) => ClinicEntry): Promise<ClinicEntry> {
    return inTransaction(this.#pool, async (c) => {
      await c.query("SELECT pg_advisory_xact_lock(hashtext('relay_clinics:' || $1))", [clinic])
      const { rows } = await c.query<{ entry: ClinicEntry }>(
        'SELECT entry FROM relay_clinics WHERE clinic = $1 FOR UPDATE',
        [clinic],
      )
      const before = rows[0]?.entry
      const entry = fn(before)
      if (JSON.stringify(before) !== JSON.stringify(entry)) {
        await c.query(
          `INSERT INTO relay_clinics (clinic, entry) VALUES ($1, $2)
           ON CONFLICT (clinic) DO UPDATE SET entry = EXCLUDED.entry, updated_at = now()`,
          [clinic, JSON.stringify(entry)],
        )
        await c.query('SELECT pg_notify($1, $2)', [RELAY_CHANNEL, `r ${this.#source} ${clinic}`])
      }
      return entry
    })
  }
}
