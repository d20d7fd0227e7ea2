import type pg from 'pg'

/** The one channel relay instances tell each other on: `d|r|c <source> <id>` (see StateListener). */
export const RELAY_CHANNEL = 'clinic_mesh_relay'

/** Changes carried in a notice up to this size (base64 characters; PostgreSQL refuses payloads of 8000 bytes). */
const INLINE_MAX = 6000

/**
 * A document chunk written: `d <source> <document> <type> <hash> [changes]`. `changes` (base64): what the write added
 * to the document, when small, for the others to merge without reading storage (StateListener, DocRefresher).
 */
export function chunkNotice(source: string, key: readonly string[], changes?: Uint8Array): string {
  const head = `d ${source} ${key[0]} ${key[1]} ${key[2]}`
  if (!changes || changes.length === 0) return head
  const inline = Buffer.from(changes.buffer, changes.byteOffset, changes.byteLength).toString('base64')
  return inline.length <= INLINE_MAX ? `${head} ${inline}` : head
}

/** The chunk table the relay's automerge documents live in (PostgresStorageAdapter's default). */
export const CHUNK_TABLE = 'automerge_chunks'

/**
 * The relay's shared tables beside the chunks: clinics (the registry), checkpoints (one row per clinic, written only
 * under its lease), leases (who settles a clinic, with a monotonic epoch: rows are never deleted), live instances (a heartbeat each, for
 * the fair share of leases), the relay key.
 */
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS relay_clinics (
     clinic text PRIMARY KEY, entry jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`,
  `CREATE TABLE IF NOT EXISTS relay_checkpoints (
     clinic text PRIMARY KEY, epoch bigint NOT NULL, data bytea NOT NULL, saved_at timestamptz NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS relay_leases (
     clinic text PRIMARY KEY, owner text NOT NULL, epoch bigint NOT NULL, expires_at timestamptz NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS relay_instances (owner text PRIMARY KEY, seen_at timestamptz NOT NULL)`,
  // the URL devices reach the instance at (`--public-url`): other instances redirect a clinic's devices to its settler
  `ALTER TABLE relay_instances ADD COLUMN IF NOT EXISTS public_url text`,
  `CREATE TABLE IF NOT EXISTS relay_keys (
     id text PRIMARY KEY, public_key text NOT NULL, secret_key bytea NOT NULL, created_at timestamptz NOT NULL)`,
]

export async function createRelaySchema(pool: pg.Pool): Promise<void> {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    // instances starting together would collide in the catalog: one at a time
    await client.query("SELECT pg_advisory_xact_lock(hashtext('clinic_mesh_relay_schema'))")
    for (const sql of SCHEMA) await client.query(sql)
    await client.query('COMMIT')
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    throw err
  } finally {
    client.release()
  }
}

/** Run `fn` in one transaction on one pooled connection. */
export async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    const out = await fn(client)
    await client.query('COMMIT')
    return out
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    throw err
  } finally {
    client.release()
  }
}
