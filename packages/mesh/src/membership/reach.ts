import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js'
import { ReachClaimSchema, tryParse, type ReachClaim } from '@clinic-mesh/contracts'

export type { ReachClaim } from '@clinic-mesh/contracts'

/** Domain-separated signing input of a reach record: the JSON array of its fields in a fixed order. */
export function reachSigningBytes(r: Omit<ReachClaim, 'signature'>): Uint8Array {
  return utf8ToBytes(JSON.stringify(['clinic-mesh/reach/v1', r.clinic, r.devicePeerId, r.addrs, r.at]))
}

export interface ReachInput {
  clinic: string
  /** this device's multiaddrs; each gets `/p2p/<peer id>` if it lacks it */
  addrs: string[]
  at?: Date
}

/** Signs this device's reach record with its libp2p key (the one its peer id is made of). */
export async function signReach(input: ReachInput, key: PrivateKey): Promise<ReachClaim> {
  const devicePeerId = peerIdFromPrivateKey(key).toString()
  const unsigned = {
    clinic: input.clinic,
    devicePeerId,
    addrs: input.addrs.map((a) => (a.includes('/p2p/') ? a : `${a}/p2p/${devicePeerId}`)),
    at: (input.at ?? new Date()).toISOString(),
  }
  const signature = await key.sign(reachSigningBytes(unsigned))
  return { ...unsigned, signature: bytesToHex(signature) }
}

/**
 * The record if it is well formed, for `clinic`, names only addresses of its own device, and is signed by that
 * device's key; otherwise null (a hint: a bad one is ignored, never thrown at the caller's document loop).
 */
export async function verifyReach(raw: unknown, clinic: string): Promise<ReachClaim | null> {
  const r = tryParse(ReachClaimSchema, raw)
  if (r === undefined) return null
  if (r.clinic !== clinic) return null
  const suffix = `/p2p/${r.devicePeerId}`
  if (!r.addrs.every((a) => a.startsWith('/ip') && a.endsWith(suffix))) return null
  try {
    const key = peerIdFromString(r.devicePeerId).publicKey
    if (key === undefined) return null
    return (await key.verify(reachSigningBytes(r), hexToBytes(r.signature))) ? r : null
  } catch {
    return null // malformed peer id or signature hex
  }
}
