import type { Chunk, StorageAdapterInterface, StorageKey } from '@automerge/automerge-repo'
import type pg from 'pg'
import { type FencedStorage, isDocChunk } from './fenced-storage.js'
import { RELAY_CHANNEL } from './pg-schema.js'

/**
 * The relay's automerge storage when instances share a database: every saved chunk is announced on RELAY_CHANNEL
 * (after its row is committed, so a listener that reloads finds it). The documents only the settler writes are
 * fenced (`FencedStorage`): their one road is the checkpoint transaction under the clinic's lease (pg-checkpoints.ts).
 */
export class SharedStorage implements StorageAdapterInterface {
  readonly #inner: FencedStorage
  readonly #pool: pg.Pool
  readonly #source: string

  constructor(inner: FencedStorage, pool: pg.Pool, source: string) {
    this.#inner = inner
    this.#pool = pool
    this.#source = source
  }

  load(key: StorageKey): Promise<Uint8Array | undefined> {
    return this.#inner.load(key)
  }

  loadRange(keyPrefix: StorageKey): Promise<Chunk[]> {
    return this.#inner.loadRange(keyPrefix)
  }

  async save(key: StorageKey, data: Uint8Array): Promise<void> {
    if (this.#inner.isFenced(key)) return
    await this.#inner.save(key, data)
    if (isDocChunk(key))
      await this.#pool.query('SELECT pg_notify($1, $2)', [RELAY_CHANNEL, `d ${this.#source} ${key[0]}`])
  }

  remove(key: StorageKey): Promise<void> {
    return this.#inner.remove(key)
  }

  removeRange(keyPrefix: StorageKey): Promise<void> {
    return this.#inner.removeRange(keyPrefix)
  }
}
