import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { type CryptoKey, gcmOpen, gcmSeal, importAesKey } from './aes-gcm.js'
import { bytesToHex, hexToBytes, randomBytes, utf8ToBytes } from './bytes.js'
import { DecryptionError, InvalidPasswordError } from './errors.js'
import type { Keyring } from './keyring.js'
import { PASSWORD_SCRYPT, type ScryptParams, deriveKey } from './scrypt-params.js'

/**
 * A secret sealed under a key derived from a user's password: the same mechanism as the user's wrapped signing key
 * (user-register.ts: scrypt(password, salt) → HKDF-SHA256), under its own salt and a distinct HKDF info
 * (`clinic-mesh/<context>/v1`), so the key that opens it is independent of the password verifier and of the
 * signing-key wrap. AES-256-GCM, `aad` binds it to its owner.
 */
export interface PasswordWrapped {
  readonly alg: 'scrypt-hkdf-aes-gcm'
  readonly N: number
  readonly r: number
  readonly p: number
  readonly salt: string
  readonly data: string
}

async function wrapKeyOf(
  password: string,
  salt: Uint8Array,
  params: ScryptParams,
  context: string,
): Promise<CryptoKey> {
  const master = await deriveKey(password, salt, params)
  const k = hkdf(sha256, master, salt, utf8ToBytes(`clinic-mesh/${context}/v1`), 32)
  master.fill(0)
  try {
    return await importAesKey(k)
  } finally {
    k.fill(0)
  }
}

/** Seals `secret` under the password (fresh salt). */
export async function wrapUnderPassword(
  password: string,
  secret: Uint8Array,
  context: string,
  aad: Uint8Array,
  params: ScryptParams = PASSWORD_SCRYPT,
): Promise<PasswordWrapped> {
  const salt = randomBytes(16)
  const key = await wrapKeyOf(password, salt, params, context)
  const data = await gcmSeal(key, secret, aad)
  return {
    alg: 'scrypt-hkdf-aes-gcm',
    N: params.N,
    r: params.r,
    p: params.p,
    salt: bytesToHex(salt),
    data: bytesToHex(data),
  }
}

/** Opens a `wrapUnderPassword` result; a wrong password (or another aad / context) is `InvalidPasswordError`. */
export async function unwrapUnderPassword(
  password: string,
  wrapped: PasswordWrapped,
  context: string,
  aad: Uint8Array,
): Promise<Uint8Array> {
  if (wrapped.alg !== 'scrypt-hkdf-aes-gcm')
    throw new InvalidPasswordError(`unknown wrap ${String(wrapped.alg)}`)
  const key = await wrapKeyOf(password, hexToBytes(wrapped.salt), wrapped, context)
  try {
    return await gcmOpen(key, hexToBytes(wrapped.data), aad, context)
  } catch (cause) {
    if (cause instanceof DecryptionError)
      throw new InvalidPasswordError('the password does not open this key')
    throw cause
  }
}

const fieldAad = (field: string): Uint8Array => utf8ToBytes(`clinic-mesh/sealed-field/v1:${field}`)

/**
 * One value of a device's own files (its clinic secret, its libp2p key) sealed under the current key of a key file
 * unlocked by the device secret: AES-256-GCM, the field's name in the AAD (a sealed value moved to another field
 * does not open). Returns hex `keyId:iv‖ciphertext‖tag`.
 */
export async function sealField(keyring: Keyring, field: string, plain: Uint8Array): Promise<string> {
  const { id, key } = keyring.current
  return `${id}:${bytesToHex(await gcmSeal(key, plain, fieldAad(field)))}`
}

/** Opens a `sealField` value; `DecryptionError` when it was sealed under another key or for another field. */
export async function openField(keyring: Keyring, field: string, sealed: string): Promise<Uint8Array> {
  const [id, data] = sealed.split(':')
  const k = keyring.get(Number(id))
  if (!k || data === undefined || !/^[0-9a-f]*$/.test(data))
    throw new DecryptionError(`${field}: not a sealed value of this device`)
  return gcmOpen(k.key, hexToBytes(data), fieldAad(field), field)
}
