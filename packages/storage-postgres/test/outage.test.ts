import { InvalidTableNameError, PostgresStorageAdapter } from '@clinic-mesh/storage-postgres'
import { startPostgresCluster } from '@clinic-mesh/testing'
import { describe, expect, it } from 'vitest'

const DOC = '3WkbkQ7EkwY1Qrx9dz4Xp6bZ6SRg'

describe('PostgresStorageAdapter when the database is gone', () => {
  it('a stopped database gives PostgresStorageError (unreachable) naming the operation, and never a silent success', async () => {
    const cluster = await startPostgresCluster()
    const adapter = new PostgresStorageAdapter({ connectionString: cluster.url })
    try {
      await adapter.save([DOC, 'incremental', 'a'], new Uint8Array([1, 2, 3]))
      expect(await adapter.load([DOC, 'incremental', 'a'])).toEqual(new Uint8Array([1, 2, 3]))
    } finally {
      await cluster.stop()
    }
    const saving = adapter.save([DOC, 'incremental', 'b'], new Uint8Array([4]))
    await expect(saving).rejects.toMatchObject({ name: 'PostgresStorageError', reason: 'unreachable' })
    await expect(saving).rejects.toThrow(/PostgreSQL storage unreachable: save .*incremental\/b/)
    await expect(adapter.loadRange([DOC])).rejects.toMatchObject({
      name: 'PostgresStorageError',
      reason: 'unreachable',
    })
    await adapter.close()

    // a new adapter on the same (now dead) address fails at its first use, creating the table
    const late = new PostgresStorageAdapter({ connectionString: cluster.url })
    await expect(late.load([DOC])).rejects.toMatchObject({
      name: 'PostgresStorageError',
      reason: 'unreachable',
    })
    await late.close()
  })

  it('refuses a table name that is not a plain identifier', () => {
    expect(
      () => new PostgresStorageAdapter({ connectionString: 'postgres://x', table: 'a; DROP TABLE b' }),
    ).toThrow(InvalidTableNameError)
  })
})
