import { ed25519 } from '@noble/curves/ed25519.js'
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js'
import { InvalidSignatureError, MembershipRecordError } from '../errors.js'

/** Enrolments and revocations: the membership document's records, defined with their schemas in @clinic-mesh/contracts. */
export type { Enrolment, Revocation } from '@clinic-mesh/contracts'
import type { Enrolment, Revocation } from '@clinic-mesh/contracts'

export interface AdminKeyPair {
  secretKey: Uint8Array
  publicKey: Uint8Array
}

export function generateAdminKey(): AdminKeyPair {
  const secretKey = ed25519.utils.randomSecretKey()
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey) }
}

/** Domain-separated, unambiguous signing input: the JSON array of the fields in a fixed order. */
export function enrolmentSigningBytes(e: Omit<Enrolment, 'signature'>): Uint8Array {
  return utf8ToBytes(
    JSON.stringify(['clinic-mesh/enrolment/v1', e.clinic, e.devicePeerId, e.deviceName, e.enrolledAt, e.by]),
  )
}

export function revocationSigningBytes(r: Omit<Revocation, 'signature'>): Uint8Array {
  return utf8ToBytes(
    JSON.stringify(['clinic-mesh/revocation/v1', r.clinic, r.devicePeerId, r.revokedAt, r.reason, r.by]),
  )
}

export interface EnrolInput {
  clinic: string
  devicePeerId: string
  deviceName: string
  enrolledAt?: Date
}

export function signEnrolment(input: EnrolInput, adminSecretKey: Uint8Array): Enrolment {
  const unsigned = {
    clinic: input.clinic,
    devicePeerId: input.devicePeerId,
    deviceName: input.deviceName,
    enrolledAt: (input.enrolledAt ?? new Date()).toISOString(),
    by: bytesToHex(ed25519.getPublicKey(adminSecretKey)),
  }
  return { ...unsigned, signature: bytesToHex(ed25519.sign(enrolmentSigningBytes(unsigned), adminSecretKey)) }
}

export interface RevokeInput {
  clinic: string
  devicePeerId: string
  reason: string
  revokedAt?: Date
}

export function signRevocation(input: RevokeInput, adminSecretKey: Uint8Array): Revocation {
  const unsigned = {
    clinic: input.clinic,
    devicePeerId: input.devicePeerId,
    revokedAt: (input.revokedAt ?? new Date()).toISOString(),
    reason: input.reason,
    by: bytesToHex(ed25519.getPublicKey(adminSecretKey)),
  }
  return {
    ...unsigned,
    signature: bytesToHex(ed25519.sign(revocationSigningBytes(unsigned), adminSecretKey)),
  }
}

function checkSignature(
  clinic: string,
  expectedClinic: string,
  by: string,
  signature: string,
  msg: Uint8Array,
  admins: readonly string[],
): void {
  if (clinic !== expectedClinic)
    throw new MembershipRecordError(`record is for clinic ${clinic}, not ${expectedClinic}`)
  if (!admins.includes(by.toLowerCase()))
    throw new InvalidSignatureError(`record signed by unknown admin key ${by}`)
  let ok: boolean
  try {
    ok = ed25519.verify(hexToBytes(signature), msg, hexToBytes(by))
  } catch {
    ok = false // malformed hex or key bytes
  }
  if (!ok) throw new InvalidSignatureError('record signature does not verify')
}

/** Throws InvalidSignatureError / MembershipRecordError; `admins` are lower-case hex public keys. */
export function verifyEnrolment(e: Enrolment, clinic: string, admins: readonly string[]): void {
  checkSignature(e.clinic, clinic, e.by, e.signature, enrolmentSigningBytes(e), admins)
}

export function verifyRevocation(r: Revocation, clinic: string, admins: readonly string[]): void {
  checkSignature(r.clinic, clinic, r.by, r.signature, revocationSigningBytes(r), admins)
}
