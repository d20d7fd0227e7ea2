import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { utf8ToBytes } from '@noble/hashes/utils.js'

/**
 * The clinic's private-network key (32 bytes), derived from the clinic secret (≥ 32 random bytes held by every
 * enrolled device). Keyed by it, `clinicPrivateNetwork` keeps every byte on the wire unreadable to non-members.
 */
export function clinicNetworkKey(clinicSecret: Uint8Array): Uint8Array {
  if (clinicSecret.byteLength < 32) throw new RangeError('clinic secret must be at least 32 bytes')
  return hkdf(sha256, clinicSecret, utf8ToBytes('clinic-mesh'), utf8ToBytes('clinic-mesh/pnet/v1'), 32)
}
