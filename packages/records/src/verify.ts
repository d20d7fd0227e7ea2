import { getConflicts, type Prop } from '@automerge/automerge'
import { ed25519 } from '@noble/curves/ed25519.js'
import { hexToBytes } from '@noble/hashes/utils.js'
import { ITEM_FIELDS, prescriptionHash } from './prescription.js'
import type { Prescription } from './types.js'
import { str } from './values.js'

/** Why a prescription failed verification (stable codes). */
export const VERIFY_REASONS = {
  notSigned: 'not-signed',
  contentChanged: 'content-changed',
  badSignature: 'bad-signature',
  untrustedKey: 'untrusted-key',
  concurrentEdit: 'concurrent-edit',
} as const
export type VerifyReason = (typeof VERIFY_REASONS)[keyof typeof VERIFY_REASONS]

export type VerifyResult = { ok: true; hash: string } | { ok: false; reason: VerifyReason; detail: string }

function conflicted(obj: object, key: Prop): boolean {
  try {
    const c = getConflicts(obj, key)
    return c !== undefined && Object.keys(c).length > 1
  } catch {
    return false // not an Automerge object (e.g. a JSON copy): nothing to detect
  }
}

/**
 * Checks a signed prescription: the content still hashes to the signed hash, the signature matches the hash and
 * key, the key is trusted (when `trustedKeys` is given), and no clinically relevant field holds concurrent values
 * (a draft edit merged in from a replica that had not seen the signature). Never throws on bad data.
 */
export function verifyPrescription(rx: Prescription, options: { trustedKeys?: readonly string[] } = {}): VerifyResult {
  if (str(rx.status) !== 'signed' || !rx.signed) {
    return { ok: false, reason: 'not-signed', detail: 'prescription is not signed' }
  }
  const signed = rx.signed
  const hash = prescriptionHash(rx)
  if (hash !== str(signed.hash)) {
    return { ok: false, reason: 'content-changed', detail: `content hashes to ${hash}, signature covers ${str(signed.hash)}` }
  }
  let valid: boolean
  try {
    valid = ed25519.verify(hexToBytes(str(signed.signature)), hexToBytes(hash), hexToBytes(str(signed.publicKey)))
  } catch {
    valid = false
  }
  if (!valid) return { ok: false, reason: 'bad-signature', detail: 'signature does not match hash and public key' }
  if (options.trustedKeys && !options.trustedKeys.includes(str(signed.publicKey))) {
    return { ok: false, reason: 'untrusted-key', detail: `key ${str(signed.publicKey)} is not trusted` }
  }
  for (const key of ['status', 'signed', 'items', 'patientId', 'encounterId'] as const) {
    if (conflicted(rx, key)) return { ok: false, reason: 'concurrent-edit', detail: `concurrent values at ${key}` }
  }
  for (const [id, item] of Object.entries(rx.items)) {
    if (conflicted(rx.items, id)) return { ok: false, reason: 'concurrent-edit', detail: `concurrent values at items.${id}` }
    for (const f of ITEM_FIELDS) {
      if (conflicted(item, f)) return { ok: false, reason: 'concurrent-edit', detail: `concurrent values at items.${id}.${f}` }
    }
  }
  return { ok: true, hash }
}
