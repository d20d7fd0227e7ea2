import type { webcrypto } from 'node:crypto'
import { concatBytes, randomBytes } from './bytes.js'
import { DecryptionError } from './errors.js'

const subtle = globalThis.crypto.subtle
/** A WebCrypto AES key (non-extractable). */
export type CryptoKey = webcrypto.CryptoKey
export const IV_BYTES = 12
export const TAG_BYTES = 16

/** Copies into a fresh ArrayBuffer-backed view (WebCrypto refuses views over shared or foreign buffers). */
function buf(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(new ArrayBuffer(bytes.length))
  out.set(bytes)
  return out
}

/** Imports 32 raw bytes as a non-extractable AES-256-GCM key. */
export async function importAesKey(raw: Uint8Array): Promise<CryptoKey> {
  if (raw.length !== 32) throw new RangeError('AES-256 keys are 32 bytes')
  return subtle.importKey('raw', buf(raw), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt'])
}

/** AES-256-GCM with a fresh random 96-bit IV; returns `iv || ciphertext || tag`. */
export async function gcmSeal(key: CryptoKey, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  const iv = randomBytes(IV_BYTES)
  const sealed = await subtle.encrypt(
    { name: 'AES-GCM', iv: buf(iv), additionalData: buf(aad) },
    key,
    buf(plaintext),
  )
  return concatBytes(iv, new Uint8Array(sealed))
}

/** Opens `iv || ciphertext || tag`; any mismatch (key, AAD, bytes) is a `DecryptionError`. */
export async function gcmOpen(
  key: CryptoKey,
  sealed: Uint8Array,
  aad: Uint8Array,
  what: string,
): Promise<Uint8Array> {
  if (sealed.length < IV_BYTES + TAG_BYTES)
    throw new DecryptionError(`${what}: too short to be encrypted data`)
  const iv = sealed.subarray(0, IV_BYTES)
  const body = sealed.subarray(IV_BYTES)
  try {
    const plain = await subtle.decrypt(
      { name: 'AES-GCM', iv: buf(iv), additionalData: buf(aad) },
      key,
      buf(body),
    )
    return new Uint8Array(plain)
  } catch (cause) {
    throw new DecryptionError(`${what}: authentication failed (wrong key, moved or tampered data)`, { cause })
  }
}
