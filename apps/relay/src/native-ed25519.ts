import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import type { Ed25519Sign, Ed25519Verify } from '@clinic-mesh/ledger'

/**
 * Ed25519 through node:crypto (OpenSSL) for the relay's own documents (ledger `relay-signed.ts`): the same RFC 8032
 * signatures as @noble/curves (Ed25519 signing is deterministic: the bytes are identical), ~30× less CPU. A takeover
 * checks the two published documents of every clinic it opens and signs them again each round (P18, docs/SCALE.md).
 * OpenSSL's verification is the stricter of the two (no ZIP-215 leniency): a document it refuses is signed again.
 */

// DER prefixes of a raw 32-byte Ed25519 key as SPKI (public) and PKCS#8 (secret seed)
const SPKI = Buffer.from('302a300506032b6570032100', 'hex')
const PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex')
/** keys seen (a relay has one; bounded all the same) */
const MAX_KEYS = 16
const publicKeys = new Map<string, KeyObject>()
const secretKeys = new WeakMap<Uint8Array, KeyObject>()

function publicKey(raw: Uint8Array): KeyObject {
  const hex = Buffer.from(raw).toString('hex')
  let key = publicKeys.get(hex)
  if (!key) {
    key = createPublicKey({ key: Buffer.concat([SPKI, raw]), format: 'der', type: 'spki' })
    if (publicKeys.size >= MAX_KEYS) publicKeys.clear()
    publicKeys.set(hex, key)
  }
  return key
}

export const nativeVerify: Ed25519Verify = (signature, message, raw) => {
  if (raw.length !== 32 || signature.length !== 64) return false
  try {
    return verify(null, message, publicKey(raw), signature)
  } catch {
    return false // not a valid key
  }
}

export const nativeSign: Ed25519Sign = (message, secret) => {
  if (secret.length !== 32) throw new RangeError('an Ed25519 secret key is 32 bytes')
  let key = secretKeys.get(secret)
  if (!key) {
    key = createPrivateKey({ key: Buffer.concat([PKCS8, secret]), format: 'der', type: 'pkcs8' })
    secretKeys.set(secret, key)
  }
  return new Uint8Array(sign(null, message, key))
}
