import type { Chunk, StorageAdapterInterface, StorageKey } from '@automerge/automerge-repo'

/** automerge-repo's chunk keys: `[documentId, 'snapshot' | 'incremental', hash]` (others are sync state). */
export function isDocChunk(key: readonly string[]): boolean {
  return key[1] === 'snapshot' || key[1] === 'incremental'
}

/** The one stored chunk of a document the relay publishes: overwritten by every checkpoint write. */
export const FENCED_CHUNK = 'relay-fenced'

/**
 * The relay's automerge storage with the documents only the settler writes (`fenced`: settled inventory, conflict
 * queue) taken out of the repo's hands: their chunks are never written or removed through the repo. Their one road
 * is the checkpoint write (`SettlementStore.save` with `published`), and a published change is merged into the
 * repo's document, whence devices get it, only after that write. So a device never holds a change of a relay-only
 * document that the relay's storage lacks: a relay killed right after a round could otherwise not take its own
 * change back from a device (a change to a relay-only document from a peer is refused).
 */
export class FencedStorage implements StorageAdapterInterface {
  readonly #inner: StorageAdapterInterface
  readonly #fenced: ReadonlySet<string>

  constructor(inner: StorageAdapterInterface, fenced: ReadonlySet<string>) {
    this.#inner = inner
    this.#fenced = fenced
  }

  /** Whether the repo's write of `key` is dropped (a chunk of a fenced document). */
  isFenced(key: StorageKey): boolean {
    return key[0] !== undefined && this.#fenced.has(key[0]) && isDocChunk(key)
  }

  load(key: StorageKey): Promise<Uint8Array | undefined> {
    return this.#inner.load(key)
  }

  loadRange(keyPrefix: StorageKey): Promise<Chunk[]> {
    return this.#inner.loadRange(keyPrefix)
  }

  async save(key: StorageKey, data: Uint8Array): Promise<void> {
    if (this.isFenced(key)) return
    await this.#inner.save(key, data)
  }

  async remove(key: StorageKey): Promise<void> {
    if (this.isFenced(key)) return
    await this.#inner.remove(key)
  }

  async removeRange(keyPrefix: StorageKey): Promise<void> {
    if (keyPrefix[0] !== undefined && this.#fenced.has(keyPrefix[0])) return
    await this.#inner.removeRange(keyPrefix)
  }
}
