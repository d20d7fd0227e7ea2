import { PostgresRelayState, RELAY_CHANNEL } from '@clinic-mesh/relay'
import { type PostgresCluster, eventually, startPostgresCluster } from '@clinic-mesh/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// A settler opening a clinic reads the chunks of the documents its checkpoint names in one query, and the repo's loads
// that follow take them (ClinicHost, SharedStorage.readAhead). What was read ahead must never hide a write: another
// instance's notice of the document, or a missed-notices resync, drops it, and the next load reads storage again.

const DOC = 'readAheadDoc1'

describe('chunks read ahead for a clinic being opened', () => {
  let cluster: PostgresCluster
  let pool: pg.Pool
  let state: PostgresRelayState
  const noticed: string[] = []

  beforeAll(async () => {
    cluster = await startPostgresCluster()
    state = await PostgresRelayState.open({ url: cluster.url })
    pool = new pg.Pool({ connectionString: cluster.url })
    await state.listen({
      document: (id) => noticed.push(id),
      registry: () => {},
      checkpoint: () => {},
      resync: () => {},
    })
  })
  afterAll(async () => {
    await state?.close()
    await pool?.end()
    await cluster?.stop()
  })

  const put = (name: string, bytes: number[]) =>
    pool.query('INSERT INTO automerge_chunks (key, data) VALUES ($1, $2)', [
      [DOC, 'incremental', name],
      Buffer.from(bytes),
    ])

  it('serves the repo its next loads of the document, once, and reads storage after a notice of it', async () => {
    await put('h1', [1])
    await state.readAhead([DOC])
    await put('h2', [2]) // written by another instance; its notice is on its way
    // the repo's load: its snapshots, then its incremental chunks, from what was read ahead
    expect(await state.storage.loadRange([DOC, 'snapshot'])).toEqual([])
    expect((await state.storage.loadRange([DOC, 'incremental'])).map((c) => c.key[2])).toEqual(['h1'])
    // taken: the next load reads storage
    expect((await state.storage.loadRange([DOC, 'incremental'])).map((c) => c.key[2])).toEqual(['h1', 'h2'])

    await state.readAhead([DOC])
    await put('h3', [3])
    await pool.query('SELECT pg_notify($1, $2)', [RELAY_CHANNEL, `d other-instance ${DOC} incremental h3`])
    await eventually(() => noticed.includes(DOC), { what: 'the notice of the write' })
    expect((await state.storage.loadRange([DOC, 'incremental'])).map((c) => c.key[2])).toEqual([
      'h1',
      'h2',
      'h3',
    ])
  })
})
