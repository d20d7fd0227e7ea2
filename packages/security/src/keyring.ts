import { type CryptoKey, importAesKey } from './aes-gcm.js'
import { randomBytes } from './bytes.js'
import { KeyFileError } from './errors.js'

/** A data-encryption key and the id written in the header of every chunk it encrypts. */
export interface DataKey {
  readonly id: number
  readonly key: CryptoKey
}

export const MAX_KEY_ID = 0xffffffff

/** Imports 32 raw bytes as the data key `id` (0 … 2^32-1). */
export async function importDataKey(id: number, raw: Uint8Array): Promise<DataKey> {
  if (!Number.isInteger(id) || id < 0 || id > MAX_KEY_ID) throw new RangeError(`bad key id ${id}`)
  return { id, key: await importAesKey(raw) }
}

/** A fresh random 32-byte data key. Returns the raw bytes too, for wrapping into the key file. */
export async function generateDataKey(id: number): Promise<{ dataKey: DataKey; raw: Uint8Array }> {
  const raw = randomBytes(32)
  return { dataKey: await importDataKey(id, raw), raw }
}

/**
 * The data keys a device can decrypt with; `current` encrypts every new chunk. Older keys stay readable until their
 * chunks have been re-encrypted (see `EncryptedStorageAdapter.reencrypt`) and they are retired from the key file.
 */
export class Keyring {
  #current: DataKey
  readonly #keys = new Map<number, DataKey>()

  constructor(current: DataKey, others: Iterable<DataKey> = []) {
    for (const k of others) this.#keys.set(k.id, k)
    this.#keys.set(current.id, current)
    this.#current = current
  }

  get current(): DataKey {
    return this.#current
  }

  get ids(): number[] {
    return [...this.#keys.keys()].sort((a, b) => a - b)
  }

  get(id: number): DataKey | undefined {
    return this.#keys.get(id)
  }

  /** Adds `key` and makes it current. Its id must be new. */
  rotate(key: DataKey): void {
    if (this.#keys.has(key.id)) throw new KeyFileError('in-use', `key id ${key.id} already in the keyring`)
    this.#keys.set(key.id, key)
    this.#current = key
  }

  /** Forgets an old key (chunks still encrypted under it become unreadable). The current key cannot be retired. */
  retire(id: number): void {
    if (id === this.#current.id) throw new KeyFileError('in-use', `key ${id} is the current key`)
    this.#keys.delete(id)
  }
}
