import type { Chunk, StorageAdapterInterface, StorageKey } from '@automerge/automerge-repo'
import {
  CHUNK_AAD_LABELS,
  CHUNK_FORMAT,
  CHUNK_HEADER_BYTES,
  IV_BYTES,
  TAG_BYTES,
  freshBytes,
  openChunk,
  readChunkKeyId,
  sealChunk,
} from '@clinic-mesh/storage-encrypted/chunk-layout'
import type { AesKey } from '@clinic-mesh/storage-encrypted/chunk-layout'
import { KeyedWrites } from '@clinic-mesh/storage-encrypted/keyed-writes'

/**
 * Encryption at rest for automerge-repo in the browser (or anywhere WebCrypto is: Node 24 too): every chunk is sealed
 * with AES-256-GCM through `globalThis.crypto.subtle` before it reaches the inner adapter (IndexedDB in the browser).
 * The chunk format is the device node's, defined once in `@clinic-mesh/storage-encrypted/chunk-layout` (browser-safe)
 * with the browser's own AAD label: `format(1) | keyId(4, big-endian) | iv(12) | ciphertext | tag(16)`, random 96-bit
 * IV per chunk, and the header plus the length-prefixed storage key path as additional authenticated data (a chunk
 * moved to another key fails).
 * Storage keys (document ids, change hashes) stay in the clear in the inner adapter. No Node imports.
 */

const subtle = globalThis.crypto.subtle
const LABEL = CHUNK_AAD_LABELS.browser

export type { AesKey }
export { CHUNK_FORMAT, CHUNK_HEADER_BYTES, IV_BYTES, TAG_BYTES }

/** The key that seals chunks and the id written in each chunk's header (so a later key can be told apart). */
export interface StorageKeyMaterial {
  readonly id: number
  readonly key: AesKey
}

/** A stored chunk that cannot be opened: unknown format, another key, moved to another storage key, or tampered. */
export class ChunkDecryptionError extends Error {
  override readonly name = 'ChunkDecryptionError'
}

const chunkError = (message: string, options?: { cause?: unknown }): ChunkDecryptionError =>
  new ChunkDecryptionError(message, options)

/** Imports 32 raw bytes as a non-extractable AES-256-GCM key with id `id` (0 … 2^32-1). */
export async function importStorageKey(raw: Uint8Array, id = 0): Promise<StorageKeyMaterial> {
  if (raw.length !== 32) throw new RangeError('AES-256 keys are 32 bytes')
  if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new RangeError(`bad key id ${id}`)
  return {
    id,
    key: await subtle.importKey('raw', freshBytes(raw), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']),
  }
}

/** The id of the key a stored chunk was sealed with. */
export function chunkKeyId(stored: Uint8Array): number {
  const id = readChunkKeyId(stored)
  if (id === undefined) throw new ChunkDecryptionError('not an encrypted chunk (unknown format byte)')
  return id
}

const keyString = (key: StorageKey): string => JSON.stringify(key)
const startsWith = (key: StorageKey, prefix: StorageKey): boolean =>
  prefix.length <= key.length && prefix.every((p, i) => key[i] === p)

/**
 * Wraps any automerge-repo storage adapter: `save` seals, `load`/`loadRange` open. Encryption is asynchronous, so
 * writes to one key are chained: they reach the inner adapter in call order, and a read of a key (or range) waits for
 * the writes already started on it. Pass `key` as a promise to create the adapter before the key is known: every
 * operation waits for it.
 */
export class WebCryptoStorageAdapter implements StorageAdapterInterface {
  readonly #inner: StorageAdapterInterface
  readonly #key: Promise<StorageKeyMaterial>
  /** Last pending inner write per key. */
  readonly #writes = new KeyedWrites()

  constructor(inner: StorageAdapterInterface, key: StorageKeyMaterial | Promise<StorageKeyMaterial>) {
    this.#inner = inner
    this.#key = Promise.resolve(key)
    this.#key.catch(() => undefined) // a rejected key surfaces on each operation, not as an unhandled rejection
  }

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    await this.#writes.settled((k) => keyString(k) === keyString(key))
    const stored = await this.#inner.load(key)
    return stored === undefined ? undefined : this.#open(key, stored)
  }

  save(key: StorageKey, data: Uint8Array): Promise<void> {
    const sealed = this.#seal(key, data) // starts now (in parallel with earlier writes), lands in order
    return this.#writes.run(key, async () => this.#inner.save(key, await sealed))
  }

  remove(key: StorageKey): Promise<void> {
    return this.#writes.run(key, () => this.#inner.remove(key))
  }

  async loadRange(keyPrefix: StorageKey): Promise<Chunk[]> {
    await this.#writes.settled((k) => startsWith(k, keyPrefix))
    const chunks = await this.#inner.loadRange(keyPrefix)
    return Promise.all(
      chunks.map(async ({ key, data }) => ({
        key,
        data: data === undefined ? undefined : await this.#open(key, data),
      })),
    )
  }

  async removeRange(keyPrefix: StorageKey): Promise<void> {
    await this.#writes.settled((k) => startsWith(k, keyPrefix))
    await this.#inner.removeRange(keyPrefix)
  }

  async #seal(key: StorageKey, data: Uint8Array): Promise<Uint8Array> {
    const plain = freshBytes(data) // the caller may reuse its buffer while the key is awaited
    const { id, key: aes } = await this.#key
    return sealChunk(LABEL, id, aes, key, plain)
  }

  async #open(key: StorageKey, stored: Uint8Array): Promise<Uint8Array> {
    const id = chunkKeyId(stored)
    const { id: current, key: aes } = await this.#key
    if (id !== current)
      throw new ChunkDecryptionError(
        `chunk ${key.join('/')}: sealed with key ${id}, this adapter holds key ${current}`,
      )
    return openChunk(LABEL, aes, key, stored, chunkError)
  }
}
