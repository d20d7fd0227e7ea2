import type { Chunk, StorageAdapterInterface, StorageKey } from '@automerge/automerge-repo'
import pg from 'pg'
import { InvalidTableNameError, PostgresStorageError } from './errors.js'

export interface PostgresStorageInit {
  /** a pool to use (the caller owns it: `close()` leaves it open, and its 'error' events are the caller's) */
  pool?: pg.Pool
  /** or a connection string: the adapter makes (and `close()` ends) its own pool */
  connectionString?: string
  /** the chunk table, created on first use (default `automerge_chunks`); `schema.table` is allowed */
  table?: string
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}(\.[a-z_][a-z0-9_]{0,62})?$/
/** SQLSTATE classes of a database that is unreachable or going away (08: connection, 57P: operator intervention) */
const UNREACHABLE_SQLSTATE = /^(08|57P)/
const UNREACHABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EPIPE',
  'EHOSTUNREACH',
])

/**
 * automerge-repo storage over one PostgreSQL table `(key text[] primary key, data bytea, seq bigserial)`. Any number
 * of adapters (in any number of processes) may share the table: a save is one upsert, and automerge-repo only
 * removes chunks it has loaded or saved itself, so concurrent writers of one document never lose each other's
 * changes. `loadRange` returns chunks in the order of their first save (`seq` is kept on overwrite), as
 * automerge-repo's acceptance suite expects. Prefixes match whole key parts (`key[1:n] = prefix`), so no character
 * in a key needs escaping.
 */
export class PostgresStorageAdapter implements StorageAdapterInterface {
  readonly #pool: pg.Pool
  readonly #ownsPool: boolean
  readonly #table: string
  #ready: Promise<void> | undefined
  /** queries under way: `close()` lets them finish (a repo's debounced save may still run after its flush) */
  readonly #pending = new Set<Promise<unknown>>()

  constructor(init: PostgresStorageInit) {
    const table = init.table ?? 'automerge_chunks'
    if (!IDENTIFIER.test(table)) throw new InvalidTableNameError(table)
    this.#table = table
    if (init.pool) {
      this.#pool = init.pool
      this.#ownsPool = false
    } else {
      this.#pool = new pg.Pool({ connectionString: init.connectionString })
      this.#ownsPool = true
      // An idle client whose server went away: the pool drops it, and the next query reports the outage as a
      // PostgresStorageError. Without a listener the event would crash the process.
      this.#pool.on('error', () => {})
    }
  }

  /** Creates the table and its index if missing; every operation awaits it, so calling it is optional. */
  init(): Promise<void> {
    this.#ready ??= this.#createTable().catch((error: unknown) => {
      this.#ready = undefined
      throw error
    })
    return this.#ready
  }

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    const { rows } = await this.#query<{ data: Buffer }>(
      'load',
      key,
      `SELECT data FROM ${this.#table} WHERE key = $1::text[]`,
      [key],
    )
    return rows[0] ? copy(rows[0].data) : undefined
  }

  async save(key: StorageKey, data: Uint8Array): Promise<void> {
    await this.#query(
      'save',
      key,
      `INSERT INTO ${this.#table} (key, data) VALUES ($1::text[], $2)
       ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data`,
      [key, Buffer.from(data.buffer, data.byteOffset, data.byteLength)],
    )
  }

  async remove(key: StorageKey): Promise<void> {
    await this.#query('remove', key, `DELETE FROM ${this.#table} WHERE key = $1::text[]`, [key])
  }

  async loadRange(keyPrefix: StorageKey): Promise<Chunk[]> {
    const { rows } = await this.#query<{ key: string[]; data: Buffer }>(
      'loadRange',
      keyPrefix,
      `SELECT key, data FROM ${this.#table} WHERE ${prefixMatch(keyPrefix)} ORDER BY seq`,
      prefixParams(keyPrefix),
    )
    return rows.map((row) => ({ key: row.key, data: copy(row.data) }))
  }

  async removeRange(keyPrefix: StorageKey): Promise<void> {
    await this.#query(
      'removeRange',
      keyPrefix,
      `DELETE FROM ${this.#table} WHERE ${prefixMatch(keyPrefix)}`,
      prefixParams(keyPrefix),
    )
  }

  /**
   * Waits for the operations under way, then ends the pool if the adapter made it (from a connection string); a pool
   * passed in stays open. Call it after `repo.shutdown()`.
   */
  async close(): Promise<void> {
    // after each batch settles, let the microtasks drain (a compaction's removes follow its save) and look again
    for (;;) {
      await new Promise<void>((resolve) => setImmediate(resolve))
      if (this.#pending.size === 0) break
      await Promise.allSettled([...this.#pending])
    }
    if (this.#ownsPool) await this.#pool.end()
  }

  async #createTable(): Promise<void> {
    const name = this.#table.replace('.', '_')
    // Two adapters creating the table at once can collide in the catalog; a lock per table name serialises them.
    const client = await this.#connect('init', [])
    try {
      await client.query('BEGIN')
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [this.#table])
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${this.#table} (
           key text[] PRIMARY KEY, data bytea NOT NULL, seq bigserial NOT NULL)`,
      )
      await client.query(`CREATE INDEX IF NOT EXISTS ${name}_first_part ON ${this.#table} ((key[1]))`)
      await client.query('COMMIT')
    } catch (cause) {
      await client.query('ROLLBACK').catch(() => {})
      throw storageError('init', [], cause)
    } finally {
      client.release()
    }
  }

  async #connect(op: string, key: StorageKey): Promise<pg.PoolClient> {
    try {
      return await this.#pool.connect()
    } catch (cause) {
      throw storageError(op, key, cause)
    }
  }

  async #query<R extends pg.QueryResultRow>(
    op: string,
    key: StorageKey,
    text: string,
    values: unknown[],
  ): Promise<pg.QueryResult<R>> {
    const pending = this.#run<R>(op, key, text, values)
    this.#pending.add(pending)
    try {
      return await pending
    } finally {
      this.#pending.delete(pending)
    }
  }

  async #run<R extends pg.QueryResultRow>(
    op: string,
    key: StorageKey,
    text: string,
    values: unknown[],
  ): Promise<pg.QueryResult<R>> {
    await this.init()
    try {
      return await this.#pool.query<R>(text, values)
    } catch (cause) {
      throw storageError(op, key, cause)
    }
  }
}

/** `key[1] = $1` uses the index on the first part (the document id); `key[1:n] = $2` checks the whole prefix. */
function prefixMatch(prefix: StorageKey): string {
  if (prefix.length === 0) return 'TRUE'
  return `key[1] = $1 AND key[1:${prefix.length}] = $2::text[]`
}

const prefixParams = (prefix: StorageKey): unknown[] => (prefix.length === 0 ? [] : [prefix[0], prefix])

const copy = (data: Buffer): Uint8Array => new Uint8Array(data)

function storageError(op: string, key: StorageKey, cause: unknown): PostgresStorageError {
  const code = (cause as { code?: unknown } | null)?.code
  const message = cause instanceof Error ? cause.message : String(cause)
  const unreachable =
    typeof code === 'string'
      ? UNREACHABLE_SQLSTATE.test(code) || UNREACHABLE_ERRNO.has(code)
      : /connect|terminat|closed|timeout/i.test(message)
  const what = `${op}${key.length ? ` ${key.join('/')}` : ''}`
  return new PostgresStorageError(
    unreachable ? 'unreachable' : 'query',
    unreachable
      ? `PostgreSQL storage unreachable: ${what} failed: ${message || String(code)}`
      : `PostgreSQL storage refused ${what}: ${message}`,
    { cause },
  )
}
