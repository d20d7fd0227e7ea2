import { createRelaySchema } from '@clinic-mesh/relay'
import { PostgresStorageAdapter } from '@clinic-mesh/storage-postgres'
import { type PostgresCluster, startPostgresCluster } from '@clinic-mesh/testing'
import pg from 'pg'
import { afterAll, beforeAll } from 'vitest'

/**
 * A throwaway PostgreSQL with the relay's tables (automerge chunks and the relay schema) and `clinics` registered,
 * started before the file's tests and stopped after them. Read `pool` inside the tests.
 */
export function relayDatabase(clinics: readonly string[] = []): { pool: pg.Pool; cluster: PostgresCluster } {
  const db = {} as { pool: pg.Pool; cluster: PostgresCluster }
  beforeAll(async () => {
    db.cluster = await startPostgresCluster()
    db.pool = new pg.Pool({ connectionString: db.cluster.url })
    await new PostgresStorageAdapter({ pool: db.pool }).init()
    await createRelaySchema(db.pool)
    for (const c of clinics)
      await db.pool.query("INSERT INTO relay_clinics (clinic, entry) VALUES ($1, '{}')", [c])
  })
  afterAll(async () => {
    await db.pool?.end()
    await db.cluster?.stop()
  })
  return db
}
