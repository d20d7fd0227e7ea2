import { runStorageAdapterTests } from '@automerge/automerge-repo/helpers/tests/storage-adapter-tests.js'
import { PostgresStorageAdapter } from '@clinic-mesh/storage-postgres'
import { type PostgresCluster, runStorageExtraCases, startPostgresCluster } from '@clinic-mesh/testing'
import pg from 'pg'
import { afterAll, beforeAll } from 'vitest'

// automerge-repo's own storage acceptance suite, unmodified, over a real PostgreSQL (a throwaway cluster for this
// file); each test gets a fresh table in one shared pool.

let cluster: PostgresCluster
let pool: pg.Pool
let tables = 0

beforeAll(async () => {
  cluster = await startPostgresCluster()
  pool = new pg.Pool({ connectionString: cluster.url })
})

afterAll(async () => {
  await pool?.end()
  await cluster?.stop()
})

runStorageAdapterTests(async () => {
  const table = `upstream_${++tables}`
  const adapter = new PostgresStorageAdapter({ pool, table })
  await adapter.init()
  return { adapter, teardown: async () => void (await pool.query(`DROP TABLE ${table}`)) }
}, 'PostgresStorageAdapter')

runStorageExtraCases(
  'PostgresStorageAdapter',
  async () => {
    const table = `extra_${++tables}`
    const adapter = new PostgresStorageAdapter({ pool, table })
    await adapter.init()
    return {
      adapter,
      reopen: () => Promise.resolve(new PostgresStorageAdapter({ pool, table })),
      teardown: async () => void (await pool.query(`DROP TABLE IF EXISTS ${table}`)),
    }
  },
  { keepsEmptyChunks: true },
)
