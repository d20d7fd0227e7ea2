import type { SettledInventoryDoc } from '@clinic-mesh/contracts'
import {
  newRelaySecret,
  relayPublicKeyOf,
  signSettledInventory,
  verifySettledInventory,
} from '@clinic-mesh/ledger'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { signRelayProof, verifyRelayProof } from '@clinic-mesh/mesh'
import { describe, expect, it } from 'vitest'
import { nativeSign, nativeVerify } from '../src/native-ed25519.js'

// The relay signs and checks its own published documents through node:crypto (a takeover checks two per clinic): the
// signatures must be the very bytes @noble/curves makes and devices verify, and a changed document must still fail.

const content = (): Omit<SettledInventoryDoc, 'relaySignature'> => ({
  kind: 'settled-inventory/1',
  clinic: 'c1',
  settledAt: '2026-12-06T10:00:00.000Z',
  decidedOps: 3,
  watermarks: { 'tab-1': 3 },
  state: JSON.stringify({ stock: { site: { lot: 7 } } }),
})

describe('Ed25519 through node:crypto', () => {
  it('signs the same bytes as @noble/curves (the ledger default), and each verifies the other', () => {
    const secret = newRelaySecret()
    const doc = content()
    const native = signSettledInventory(doc, 2, secret, nativeSign)
    const noble = signSettledInventory(doc, 2, secret)
    expect(native).toEqual(noble)
    const relayKey = relayPublicKeyOf(secret)
    expect(verifySettledInventory({ ...doc, relaySignature: native }, { relayKey, clinic: 'c1' }).ok).toBe(
      true,
    )
    const viaNative = { relayKey, clinic: 'c1', verify: nativeVerify }
    expect(verifySettledInventory({ ...doc, relaySignature: noble }, viaNative).ok).toBe(true)
  })

  it('refuses a changed document, another key and malformed input', () => {
    const secret = newRelaySecret()
    const doc = content()
    const sig = signSettledInventory(doc, 4, secret, nativeSign)
    const expect_ = { relayKey: relayPublicKeyOf(secret), clinic: 'c1', verify: nativeVerify }
    expect(verifySettledInventory({ ...doc, relaySignature: sig }, expect_)).toEqual({ ok: true, version: 4 })
    // devices verify with @noble/curves (the default)
    expect(
      verifySettledInventory({ ...doc, relaySignature: sig }, { ...expect_, verify: undefined }).ok,
    ).toBe(true)
    const forged = { ...doc, state: JSON.stringify({ stock: { site: { lot: 5000 } } }), relaySignature: sig }
    expect(verifySettledInventory(forged, expect_)).toMatchObject({ ok: false, reason: 'bad-signature' })
    const other = relayPublicKeyOf(newRelaySecret())
    const msg = new Uint8Array([1, 2, 3])
    expect(nativeVerify(nativeSign(msg, secret), msg, Buffer.from(other, 'hex'))).toBe(false)
    expect(nativeVerify(new Uint8Array(63), msg, Buffer.from(other, 'hex'))).toBe(false)
    expect(nativeVerify(nativeSign(msg, secret), msg, new Uint8Array(31))).toBe(false)
  })

  it("checks a device's relay proof (every /sync connection and registration) as @noble/curves does", async () => {
    const key = await generateKeyPair('Ed25519')
    const peer = peerIdFromPrivateKey(key).toString()
    const seed = key.raw.subarray(0, 32)
    const proof = signRelayProof(seed, 'sync', 'nonce-1', ['repo-peer'])
    expect(verifyRelayProof(peer, 'sync', proof, ['repo-peer'], nativeVerify)).toBe(true)
    expect(verifyRelayProof(peer, 'sync', proof, ['repo-peer'])).toBe(true)
    // bound to its kind, nonce, fields and key
    expect(verifyRelayProof(peer, 'register', proof, ['repo-peer'], nativeVerify)).toBe(false)
    expect(verifyRelayProof(peer, 'sync', { ...proof, nonce: 'nonce-2' }, ['repo-peer'], nativeVerify)).toBe(
      false,
    )
    expect(verifyRelayProof(peer, 'sync', proof, ['another-peer'], nativeVerify)).toBe(false)
    const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    expect(verifyRelayProof(other, 'sync', proof, ['repo-peer'], nativeVerify)).toBe(false)
    const flipped = (proof.signature[0] === 'a' ? 'b' : 'a') + proof.signature.slice(1)
    expect(
      verifyRelayProof(peer, 'sync', { ...proof, signature: flipped }, ['repo-peer'], nativeVerify),
    ).toBe(false)
  })
})
