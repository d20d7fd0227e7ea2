import type { Chunk, StorageAdapterInterface, StorageKey } from '@automerge/automerge-repo'
import { type DataKey, DecryptionError, type Keyring } from '@clinic-mesh/security'
import { CHUNK_AAD_LABELS, openChunk, readChunkKeyId, sealChunk } from './chunk-layout.js'
import { KeyedWrites } from './keyed-writes.js'

const LABEL = CHUNK_AAD_LABELS.device
const decryptionError = (message: string, options?: { cause?: unknown }): DecryptionError =>
  new DecryptionError(message, options)

/** The id of the data key a stored chunk was encrypted with. */
export function chunkKeyId(stored: Uint8Array): number {
  const id = readChunkKeyId(stored)
  if (id === undefined) throw new DecryptionError('not an encrypted chunk (unknown format byte)')
  return id
}

const keyString = (key: StorageKey): string => JSON.stringify(key)
const startsWith = (key: StorageKey, prefix: StorageKey): boolean => prefix.every((p, i) => key[i] === p)

/** What an eager `reencrypt` did. `skipped`: chunks written or removed by the repo meanwhile (already current or gone). */
export interface ReencryptReport {
  readonly rewritten: number
  readonly current: number
  readonly skipped: number
}

/**
 * Encrypts every chunk with AES-256-GCM before handing it to `inner` (any automerge-repo storage adapter).
 * Stored layout (`chunk-layout.ts`): `format(1) | keyId(4) | iv(12) | ciphertext | tag(16)`. The additional
 * authenticated data is the header plus the storage key path, so a chunk copied or moved to another key fails with
 * `DecryptionError`.
 * Storage keys themselves (document ids, change hashes) are stored in the clear by the inner adapter.
 */
export class EncryptedStorageAdapter implements StorageAdapterInterface {
  readonly #inner: StorageAdapterInterface
  readonly #keyring: Keyring
  /** Logical clock of writes; while `reencrypt` runs, the last write time of each key (and of any removeRange). */
  #clock = 0
  #reencrypting = 0
  readonly #lastWrite = new Map<string, number>()
  #lastRangeRemoval = 0
  /** Last pending inner write per key: writes to one key reach the inner adapter in call order. */
  readonly #writes = new KeyedWrites()

  constructor(inner: StorageAdapterInterface, keyring: Keyring) {
    this.#inner = inner
    this.#keyring = keyring
  }

  get keyring(): Keyring {
    return this.#keyring
  }

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    const stored = await this.#inner.load(key)
    return stored === undefined ? undefined : this.#decrypt(key, stored)
  }

  async save(key: StorageKey, data: Uint8Array): Promise<void> {
    this.#touch(key)
    const sealed = this.#encrypt(key, data, this.#keyring.current)
    await this.#writes.run(key, async () => this.#inner.save(key, await sealed))
  }

  async remove(key: StorageKey): Promise<void> {
    this.#touch(key)
    await this.#writes.run(key, () => this.#inner.remove(key))
  }

  async loadRange(keyPrefix: StorageKey): Promise<Chunk[]> {
    const chunks = await this.#inner.loadRange(keyPrefix)
    return Promise.all(
      chunks.map(async ({ key, data }) => ({
        key,
        data: data === undefined ? undefined : await this.#decrypt(key, data),
      })),
    )
  }

  async removeRange(keyPrefix: StorageKey): Promise<void> {
    this.#lastRangeRemoval = ++this.#clock
    await this.#writes.settled((k) => startsWith(k, keyPrefix))
    await this.#inner.removeRange(keyPrefix)
  }

  /**
   * Makes `newKey` current. Lazy by default: every later write uses it, chunks written before stay readable with
   * their old key (kept in the keyring) and disappear as automerge-repo compacts documents. Call `reencrypt`
   * for an eager rewrite before retiring the old key.
   */
  rotate(newKey: DataKey): void {
    this.#keyring.rotate(newKey)
  }

  /**
   * Eagerly rewrites every chunk under the given prefixes (e.g. `[[docId1], [docId2]]`) that is not encrypted with the
   * current key. Safe to run while a Repo uses the adapter: a chunk saved or removed meanwhile is left alone.
   */
  async reencrypt(prefixes: readonly StorageKey[]): Promise<ReencryptReport> {
    let rewritten = 0
    let current = 0
    let skipped = 0
    const target = this.#keyring.current
    this.#reencrypting++
    try {
      for (const prefix of prefixes) {
        const since = this.#clock
        for (const { key, data } of await this.#inner.loadRange(prefix)) {
          if (data === undefined) continue
          if (chunkKeyId(data) === target.id) {
            current++
            continue
          }
          const sealed = await this.#encrypt(key, await this.#decrypt(key, data), target)
          // written or removed since we read it: the newer state wins, this chunk is left alone
          if (this.#lastRangeRemoval > since || (this.#lastWrite.get(keyString(key)) ?? 0) > since) {
            skipped++
            continue
          }
          await this.#writes.run(key, () => this.#inner.save(key, sealed))
          rewritten++
        }
      }
    } finally {
      if (--this.#reencrypting === 0) this.#lastWrite.clear()
    }
    return { rewritten, current, skipped }
  }

  #touch(key: StorageKey): void {
    this.#clock++
    if (this.#reencrypting > 0) this.#lastWrite.set(keyString(key), this.#clock)
  }

  #encrypt(key: StorageKey, data: Uint8Array, dataKey: DataKey): Promise<Uint8Array> {
    return sealChunk(LABEL, dataKey.id, dataKey.key, key, data)
  }

  async #decrypt(key: StorageKey, stored: Uint8Array): Promise<Uint8Array> {
    const id = chunkKeyId(stored)
    const dataKey = this.#keyring.get(id)
    if (!dataKey)
      throw new DecryptionError(
        `chunk ${key.join('/')}: encrypted with key ${id}, which this device does not hold`,
      )
    return openChunk(LABEL, dataKey.key, key, stored, decryptionError)
  }
}
