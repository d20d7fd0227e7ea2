import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'

/**
 * The clinic's libp2p private-network key, derived from the clinic secret (≥ 32 random bytes held by every
 * enrolled device). Output is the `/key/swarm/psk/1.0.0/` text format @libp2p/pnet expects.
 */
export function clinicPsk(clinicSecret: Uint8Array): Uint8Array {
  if (clinicSecret.byteLength < 32) throw new RangeError('clinic secret must be at least 32 bytes')
  const key = hkdf(sha256, clinicSecret, utf8ToBytes('clinic-mesh'), utf8ToBytes('clinic-mesh/pnet/v1'), 32)
  return utf8ToBytes(`/key/swarm/psk/1.0.0/\n/base16/\n${bytesToHex(key)}`)
}
