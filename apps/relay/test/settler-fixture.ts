import type { BatchId, ItemId } from '@clinic-mesh/contracts'
import type { OperationBody } from '@clinic-mesh/ledger'
import { Relay } from '@clinic-mesh/relay'
import { startPostgresCluster, type PostgresCluster } from '@clinic-mesh/testing'
import pg from 'pg'
import { afterAll, beforeAll } from 'vitest'

export const ITEM = 'amoxicillin-250' as ItemId

/** A receipt of 10 units of lot `L<n>` (a distinct operation per `n`). */
export const receive = (n: number): OperationBody => ({
  kind: 'receive',
  item: ITEM,
  batch: `L${n}` as BatchId,
  expiry: '2099-01-31',
  quantity: 10,
  unitCost: 2,
  supplier: 'S',
  grn: `G${n}`,
})

/**
 * Relay instances in this process over one throwaway PostgreSQL (started before the file's tests, stopped after
 * them with every instance still running): `start()` one more (1 s leases, no idle unloading), `stop(r)` one now;
 * `db()` a pool on the database.
 */
export interface SettlerInstances {
  readonly start: () => Promise<Relay>
  readonly stop: (r: Relay) => Promise<void>
  readonly db: () => pg.Pool
}

export function settlerInstances(): SettlerInstances {
  let cluster: PostgresCluster | undefined
  let pool: pg.Pool | undefined
  const relays: Relay[] = []
  beforeAll(async () => {
    cluster = await startPostgresCluster()
    pool = new pg.Pool({ connectionString: cluster.url })
  })
  afterAll(async () => {
    for (const r of relays.splice(0)) await r.stop().catch(() => {})
    await pool?.end()
    await cluster?.stop()
  })
  return {
    start: async () => {
      const r = await Relay.start({
        postgres: cluster!.url,
        port: 0,
        logger: () => {},
        leaseMs: 1000,
        idleMs: 0,
      })
      relays.push(r)
      return r
    },
    stop: async (r) => {
      relays.splice(relays.indexOf(r), 1)
      await r.stop()
    },
    db: () => pool!,
  }
}
