import { randomBytes } from 'node:crypto'
import { ed25519 } from '@noble/curves/ed25519.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { describe, expect, it } from 'vitest'
import {
  RELAY_IDENTITY_NONCE,
  relayIdentityBytes,
  relayProofBytes,
  signRelayIdentity,
  verifyRelayIdentity,
} from '@clinic-mesh/mesh'

describe('relay identity proof (the relay signs the device’s nonce with its identity key)', () => {
  const seed = new Uint8Array(randomBytes(32))
  const key = bytesToHex(ed25519.getPublicKey(seed))
  const other = bytesToHex(ed25519.getPublicKey(new Uint8Array(randomBytes(32))))
  const nonce = randomBytes(32).toString('base64url')

  it('verifies under the relay key for exactly that nonce, clinic and peer', () => {
    const sig = signRelayIdentity(seed, nonce, 'clinic-a', 'dev_1')
    expect(verifyRelayIdentity(key, sig, nonce, 'clinic-a', 'dev_1')).toBe(true)
    expect(verifyRelayIdentity(other, sig, nonce, 'clinic-a', 'dev_1')).toBe(false)
    expect(verifyRelayIdentity(key, sig, randomBytes(32).toString('base64url'), 'clinic-a', 'dev_1')).toBe(
      false,
    )
    expect(verifyRelayIdentity(key, sig, nonce, 'clinic-b', 'dev_1')).toBe(false)
    expect(verifyRelayIdentity(key, sig, nonce, 'clinic-a', 'dev_2')).toBe(false)
  })

  it('is domain-separated from the device proofs and never throws on malformed input', () => {
    expect(Buffer.from(relayIdentityBytes(nonce, 'clinic-a', 'dev_1')).toString()).toContain(
      'clinic-mesh/relay-identity/v1',
    )
    expect(Buffer.from(relayIdentityBytes(nonce, 'c', 'p'))).not.toEqual(
      Buffer.from(relayProofBytes('sync', nonce, ['c', 'p'])),
    )
    for (const [k, s] of [
      ['', ''],
      ['zz', 'zz'],
      [key, 'ab'.repeat(64)],
      [key.slice(2), 'ab'.repeat(64)],
    ] as const)
      expect(verifyRelayIdentity(k, s, nonce, 'c', 'p')).toBe(false)
    expect(RELAY_IDENTITY_NONCE.test(nonce)).toBe(true)
    expect(RELAY_IDENTITY_NONCE.test('short')).toBe(false)
  })
})
