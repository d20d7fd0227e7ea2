import type { Chunk, StorageAdapterInterface, StorageKey } from '@automerge/automerge-repo'
import type pg from 'pg'
import { isDocChunk } from './file-relay-state.js'
import { RELAY_CHANNEL } from './pg-schema.js'

/**
 * The relay's automerge storage when instances share a database: every saved chunk is announced on RELAY_CHANNEL
 * (after its row is committed, so a listener that reloads finds it), and the documents only the settler writes
 * (`fenced`: settled inventory, conflict queue) are never written or removed through the repo: their one road is
 * the checkpoint transaction under the clinic's lease (pg-checkpoints.ts).
 */
export class SharedStorage implements StorageAdapterInterface {
  readonly #inner: StorageAdapterInterface
  readonly #pool: pg.Pool
  readonly #source: string
  readonly #fenced: ReadonlySet<string>

  constructor(inner: StorageAdapterInterface, pool: pg.Pool, source: string, fenced: ReadonlySet<string>) {
    this.#inner = inner
    this.#pool = pool
    this.#source = source
    this.#fenced = fenced
  }

  load(key: StorageKey): Promise<Uint8Array | undefined> {
    return this.#inner.load(key)
  }

  loadRange(keyPrefix: StorageKey): Promise<Chunk[]> {
    return this.#inner.loadRange(keyPrefix)
  }

  async save(key: StorageKey, data: Uint8Array): Promise<void> {
    if (this.#isFenced(key)) return
    await this.#inner.save(key, data)
    if (isDocChunk(key))
      await this.#pool.query('SELECT pg_notify($1, $2)', [RELAY_CHANNEL, `d ${this.#source} ${key[0]}`])
  }

  async remove(key: StorageKey): Promise<void> {
    if (this.#isFenced(key)) return
    await this.#inner.remove(key)
  }

  async removeRange(keyPrefix: StorageKey): Promise<void> {
    if (keyPrefix[0] !== undefined && this.#fenced.has(keyPrefix[0])) return
    await this.#inner.removeRange(keyPrefix)
  }

  #isFenced(key: StorageKey): boolean {
    return key[0] !== undefined && this.#fenced.has(key[0]) && isDocChunk(key)
  }
}
