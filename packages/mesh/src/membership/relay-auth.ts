import { ed25519 } from '@noble/curves/ed25519.js'
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js'
import { peerIdFromString } from '@libp2p/peer-id'

/**
 * Proof that a request to the relay comes from the device that holds a peer id's key: an Ed25519 signature by the
 * device's libp2p key over a relay-issued, single-use nonce and the request's fields. Both sides build the signed
 * bytes here, so they cannot drift. `register` binds clinic, directory and peer; `sync` binds the peer opening
 * a WebSocket (docs/relay-api.md, "Device authentication").
 */
export type RelayProofKind = 'register' | 'sync'

export interface RelayProof {
  nonce: string
  /** hex Ed25519 signature by the peer's key over `relayProofBytes` */
  signature: string
}

const CONTEXT = 'clinic-mesh/relay-auth/v1'

export function relayProofBytes(kind: RelayProofKind, nonce: string, fields: readonly string[]): Uint8Array {
  return utf8ToBytes(JSON.stringify([CONTEXT, kind, nonce, ...fields]))
}

/** `deviceSeed`: the 32-byte Ed25519 seed of the device's libp2p key. */
export function signRelayProof(
  deviceSeed: Uint8Array,
  kind: RelayProofKind,
  nonce: string,
  fields: readonly string[],
): RelayProof {
  return { nonce, signature: bytesToHex(ed25519.sign(relayProofBytes(kind, nonce, fields), deviceSeed)) }
}

/** An Ed25519 verification: (64-byte signature, message, 32-byte public key) → whether it verifies. */
export type Ed25519VerifyFn = (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean

const nobleVerify: Ed25519VerifyFn = (s, m, k) => ed25519.verify(s, m, k)

/**
 * True when `proof` was signed by the Ed25519 key `peerId` names (false for any malformed input, never throws).
 * `verify`: @noble/curves by default (browsers too); a relay passes node:crypto's, which checks every device's proof
 * at each connection (the same RFC 8032 signatures; OpenSSL refuses the non-canonical ones @noble's ZIP-215 rules
 * accept, which no honest signer makes).
 */
export function verifyRelayProof(
  peerId: string,
  kind: RelayProofKind,
  proof: RelayProof,
  fields: readonly string[],
  verify: Ed25519VerifyFn = nobleVerify,
): boolean {
  try {
    const key = peerIdFromString(peerId).publicKey
    if (key?.type !== 'Ed25519' || !/^[0-9a-f]{128}$/.test(proof.signature)) return false
    return verify(hexToBytes(proof.signature), relayProofBytes(kind, proof.nonce, fields), key.raw)
  } catch {
    return false
  }
}

/**
 * The other direction: proof that the relay holds its identity key (the key devices pin). The device sends a fresh
 * random nonce of its own (`GET /api/identity`) before it shares anything with the relay (registration and every
 * `/sync` socket); the relay answers with an Ed25519 signature by its identity key over this domain-separated message,
 * which also binds the clinic and the device's repo peer id so an answer given to one device is worth nothing to
 * another (docs/relay-api.md, "Relay authentication").
 */
const IDENTITY_CONTEXT = 'clinic-mesh/relay-identity/v1'

/** A device-chosen nonce: 16..64 bytes as base64url or hex (at least 128 bits of the device's randomness). */
export const RELAY_IDENTITY_NONCE = /^[A-Za-z0-9_-]{22,88}$/

export function relayIdentityBytes(nonce: string, clinic: string, peerId: string): Uint8Array {
  return utf8ToBytes(JSON.stringify([IDENTITY_CONTEXT, nonce, clinic, peerId]))
}

/** `relaySecret`: the relay's 32-byte Ed25519 identity seed. Returns the hex signature. */
export function signRelayIdentity(
  relaySecret: Uint8Array,
  nonce: string,
  clinic: string,
  peerId: string,
): string {
  return bytesToHex(ed25519.sign(relayIdentityBytes(nonce, clinic, peerId), relaySecret))
}

/** True when `signature` is the relay key `relayKey`'s (hex Ed25519) over this nonce, clinic and peer. Never throws. */
export function verifyRelayIdentity(
  relayKey: string,
  signature: string,
  nonce: string,
  clinic: string,
  peerId: string,
): boolean {
  try {
    if (!/^[0-9a-f]{64}$/.test(relayKey) || !/^[0-9a-f]{128}$/.test(signature)) return false
    return ed25519.verify(
      hexToBytes(signature),
      relayIdentityBytes(nonce, clinic, peerId),
      hexToBytes(relayKey),
    )
  } catch {
    return false
  }
}
