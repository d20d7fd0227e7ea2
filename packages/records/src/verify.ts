import { getConflicts, type Prop } from '@automerge/automerge'
import { ed25519 } from '@noble/curves/ed25519.js'
import { hexToBytes } from '@noble/hashes/utils.js'
import { RX_LINE_FIELDS } from '@clinic-mesh/contracts'
import { prescriptionDeviceSigningBytes, prescriptionHash, prescriptionSigningBytes } from './prescription.js'
import type { Prescription } from './types.js'
import { str, userOf } from './values.js'

/** Why a prescription failed verification (stable codes). */
export const VERIFY_REASONS = {
  notSigned: 'not-signed',
  contentChanged: 'content-changed',
  badSignature: 'bad-signature',
  untrustedKey: 'untrusted-key',
  badDeviceSignature: 'bad-device-signature',
  untrustedDevice: 'untrusted-device',
  concurrentEdit: 'concurrent-edit',
} as const
export type VerifyReason = (typeof VERIFY_REASONS)[keyof typeof VERIFY_REASONS]

export type VerifyResult = { ok: true; hash: string } | { ok: false; reason: VerifyReason; detail: string }

export interface VerifyOptions {
  /** Clinicians' public keys (hex) to accept; any key when absent. */
  trustedKeys?: readonly string[]
  /**
   * The Ed25519 public key (hex) of a device peer id, or undefined for a device not trusted. When given, the
   * prescription must carry a device signature that verifies under that device's key.
   */
  deviceKey?: (peerId: string) => string | undefined
}

function conflicted(obj: object, key: Prop): boolean {
  try {
    const c = getConflicts(obj, key)
    return c !== undefined && Object.keys(c).length > 1
  } catch {
    return false // not an Automerge object (e.g. a JSON copy): nothing to detect
  }
}

function verifies(signature: string, message: Uint8Array, publicKey: string): boolean {
  try {
    return ed25519.verify(hexToBytes(signature), message, hexToBytes(publicKey))
  } catch {
    return false // malformed hex
  }
}

/**
 * Checks a signed prescription: the content still hashes to the signed hash, the signature matches the
 * domain-separated message (context, patient, prescription id, hash, signer) and key, the key is trusted (when
 * `trustedKeys` is given), the device's signature verifies (when `deviceKey` is given), and no clinically relevant
 * field holds concurrent values (a draft edit merged in from a replica that had not seen the signature). A signature
 * over the bare hash (the retired v1 scheme) is a `bad-signature`. Never throws on bad data.
 */
export function verifyPrescription(rx: Prescription, options: VerifyOptions = {}): VerifyResult {
  if (str(rx.status) !== 'signed' || !rx.signed) {
    return { ok: false, reason: 'not-signed', detail: 'prescription is not signed' }
  }
  const signed = rx.signed
  const hash = prescriptionHash(rx)
  if (hash !== str(signed.hash)) {
    return {
      ok: false,
      reason: 'content-changed',
      detail: `content hashes to ${hash}, signature covers ${str(signed.hash)}`,
    }
  }
  const fields = {
    patientId: str(rx.patientId),
    rxId: str(rx.id),
    hash,
    signedBy: userOf(signed.signedBy),
  }
  const publicKey = str(signed.publicKey)
  if (!verifies(str(signed.signature), prescriptionSigningBytes(fields), publicKey)) {
    return {
      ok: false,
      reason: 'bad-signature',
      detail: 'signature does not match this prescription, its signer and public key',
    }
  }
  if (options.trustedKeys && !options.trustedKeys.includes(publicKey)) {
    return { ok: false, reason: 'untrusted-key', detail: `key ${publicKey} is not trusted` }
  }
  if (options.deviceKey) {
    const peerId = str(signed.device?.peerId)
    const deviceKey = peerId ? options.deviceKey(peerId) : undefined
    if (!deviceKey)
      return {
        ok: false,
        reason: 'untrusted-device',
        detail: peerId ? `device ${peerId} is not trusted` : 'no device signature',
      }
    if (
      !verifies(
        str(signed.device?.signature),
        prescriptionDeviceSigningBytes({ ...fields, publicKey }),
        deviceKey,
      )
    ) {
      return {
        ok: false,
        reason: 'bad-device-signature',
        detail: `device ${peerId}'s signature does not match`,
      }
    }
  }
  for (const key of ['status', 'signed', 'items', 'patientId', 'encounterId'] as const) {
    if (conflicted(rx, key))
      return { ok: false, reason: 'concurrent-edit', detail: `concurrent values at ${key}` }
  }
  for (const [id, item] of Object.entries(rx.items)) {
    if (conflicted(rx.items, id))
      return { ok: false, reason: 'concurrent-edit', detail: `concurrent values at items.${id}` }
    for (const f of RX_LINE_FIELDS) {
      if (conflicted(item, f))
        return { ok: false, reason: 'concurrent-edit', detail: `concurrent values at items.${id}.${f}` }
    }
  }
  return { ok: true, hash }
}
