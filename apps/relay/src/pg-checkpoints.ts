import type pg from 'pg'
import { LeaseLostError } from './errors.js'
import { FENCED_CHUNK } from './fenced-storage.js'
import { CHUNK_TABLE, RELAY_CHANNEL, chunkNotice } from './pg-schema.js'
import type { Fence } from './relay-state.js'
import {
  decodeCheckpoint,
  encodeCheckpoint,
  fencedChunkKey,
  type Checkpoint,
  type PublishedDoc,
  type SettlementStore,
} from './settlement-store.js'

/**
 * A checkpoint and its published documents, written only while the lease row (locked) is ours at the fence's epoch;
 * a published snapshot removes the document's earlier incremental chunks (compaction, in the same statement).
 */
const SAVE = `
  WITH held AS (
    SELECT 1 FROM relay_leases WHERE clinic = $1 AND owner = $2 AND epoch = $3 FOR UPDATE
  ), checkpoint AS (
    INSERT INTO relay_checkpoints (clinic, epoch, data, saved_at)
      SELECT $1, $3, $4, now() WHERE EXISTS (SELECT 1 FROM held)
    ON CONFLICT (clinic) DO UPDATE SET epoch = EXCLUDED.epoch, data = EXCLUDED.data, saved_at = now()
  ), docs AS (
    INSERT INTO ${CHUNK_TABLE} (key, data)
      SELECT ARRAY[d.id, d.type, d.name], d.data
      FROM unnest($6::text[], $10::text[], $11::text[], $7::bytea[]) AS d (id, type, name, data)
      WHERE EXISTS (SELECT 1 FROM held)
    ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data
  ), compacted AS (
    DELETE FROM ${CHUNK_TABLE} c USING unnest($6::text[], $10::text[]) AS d (id, type)
      WHERE d.type = 'snapshot' AND c.key[1] = d.id AND c.key[2] = 'incremental' AND starts_with(c.key[3], $5 || '-')
        AND EXISTS (SELECT 1 FROM held)
  ), sent AS (
    SELECT pg_notify($8, n.msg) FROM unnest($9::text[]) WITH ORDINALITY AS n (msg, i)
      WHERE EXISTS (SELECT 1 FROM held) ORDER BY n.i
  )
  SELECT (SELECT count(*) FROM held) AS held, (SELECT count(*) FROM sent) AS sent`

/**
 * Checkpoints in table relay_checkpoints. A save is one transaction that first locks the clinic's lease row and checks
 * that this instance still holds it at the epoch it settles under (the fence), then writes the checkpoint and the
 * published documents (a snapshot or an incremental chunk each) and notifies the other instances at commit. An instance that lost
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
    const notices = [
      ...published.map((d) => chunkNotice(this.#source, fencedChunkKey(d), d.delta)),
      `c ${this.#source} ${clinic}`,
    ]
    // one statement, so one round trip (was nine: P12 spent ~10 % of a relay's CPU on them): the lease row locked
    // and checked first, then every write only if it is still ours at this epoch; notifications go out at commit
    const { rows } = await this.#pool.query<{ held: string }>(SAVE, [
      clinic,
      fence.owner,
      fence.epoch,
      Buffer.from(encodeCheckpoint(checkpoint)),
      FENCED_CHUNK,
      published.map((d) => d.documentId),
      published.map((d) => Buffer.from(d.bytes)),
      RELAY_CHANNEL,
      notices,
      published.map((d) => fencedChunkKey(d)[1]),
      published.map((d) => fencedChunkKey(d)[2]),
    ])
    if (Number(rows[0]?.held ?? 0) !== 1)
      throw new LeaseLostError(clinic, `clinic ${clinic}: lease epoch ${fence.epoch} was taken over`)
  }
}
