import type pg from 'pg'
import { LeaseLostError } from './errors.js'
import { FENCED_CHUNK } from './fenced-storage.js'
import { CHUNK_TABLE, RELAY_CHANNEL, chunkNotice, inTransaction } from './pg-schema.js'
import type { Fence } from './relay-state.js'
import {
  decodeCheckpoint,
  encodeCheckpoint,
  type Checkpoint,
  type PublishedDoc,
  type SettlementStore,
} from './settlement-store.js'

/**
 * Checkpoints in table relay_checkpoints. A save is one transaction that first locks the clinic's lease row and checks
 * that this instance still holds it at the epoch it settles under (the fence), then writes the checkpoint and the
 * published documents (one full-state chunk each) and notifies the other instances at commit. An instance that lost
 * the lease while paused gets `LeaseLostError` and writes nothing.
 */
export class PostgresSettlementStore implements SettlementStore {
  readonly #pool: pg.Pool
  readonly #fenceOf: (clinic: string) => Fence | undefined
  readonly #source: string

  constructor(pool: pg.Pool, fenceOf: (clinic: string) => Fence | undefined, source: string) {
    this.#pool = pool
    this.#fenceOf = fenceOf
    this.#source = source
  }

  async load(clinic: string): Promise<Checkpoint | null> {
    const { rows } = await this.#pool.query<{ data: Buffer }>(
      'SELECT data FROM relay_checkpoints WHERE clinic = $1',
      [clinic],
    )
    return rows[0] ? decodeCheckpoint(new Uint8Array(rows[0].data)) : null
  }

  async save(clinic: string, checkpoint: Checkpoint, published: readonly PublishedDoc[] = []): Promise<void> {
    const fence = this.#fenceOf(clinic)
    if (!fence) throw new LeaseLostError(clinic, `this instance holds no lease on clinic ${clinic}`)
    await inTransaction(this.#pool, async (c) => {
      const held = await c.query(
        'SELECT 1 FROM relay_leases WHERE clinic = $1 AND owner = $2 AND epoch = $3 FOR UPDATE',
        [clinic, fence.owner, fence.epoch],
      )
      if (held.rowCount !== 1)
        throw new LeaseLostError(clinic, `clinic ${clinic}: lease epoch ${fence.epoch} was taken over`)
      await c.query(
        `INSERT INTO relay_checkpoints (clinic, epoch, data, saved_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (clinic) DO UPDATE SET epoch = EXCLUDED.epoch, data = EXCLUDED.data, saved_at = now()`,
        [clinic, fence.epoch, Buffer.from(encodeCheckpoint(checkpoint))],
      )
      for (const doc of published) {
        await c.query(
          `INSERT INTO ${CHUNK_TABLE} (key, data) VALUES ($1::text[], $2)
           ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data`,
          [[doc.documentId, 'snapshot', FENCED_CHUNK], Buffer.from(doc.bytes)],
        )
        await c.query('SELECT pg_notify($1, $2)', [
          RELAY_CHANNEL,
          chunkNotice(this.#source, [doc.documentId, 'snapshot', FENCED_CHUNK], doc.delta),
        ])
      }
      await c.query('SELECT pg_notify($1, $2)', [RELAY_CHANNEL, `c ${this.#source} ${clinic}`])
    })
  }
}
