import { hashOperation } from '@clinic-mesh/ledger'
import type { Operation } from '@clinic-mesh/ledger'
import { type BatchKeys, signBatch, splitByUser, verifyBatch } from '@clinic-mesh/security'
import { ed25519 } from '@noble/curves/ed25519.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { describe, expect, it } from 'vitest'
import { makeOps, rechain } from './ops.js'

const seed = (n: number): Uint8Array => new Uint8Array(32).fill(n)
const userKey = seed(1)
const deviceKey = seed(2)
const keys: BatchKeys = {
  devices: { dev_tablet3: bytesToHex(ed25519.getPublicKey(deviceKey)) },
  users: { u_pharm: bytesToHex(ed25519.getPublicKey(userKey)) },
}

describe('signed sync batches', () => {
  it('op hashes match @clinic-mesh/ledger hashOperation', () => {
    for (const op of makeOps(3)) expect(hashOperation(op as unknown as Operation)).toBe(op.hash)
  })

  it('a signed batch verifies under the enrolled device and the user', () => {
    const batch = signBatch(makeOps(100), userKey, deviceKey)
    expect(batch.count).toBe(100)
    expect(verifyBatch(batch, keys)).toEqual({ ok: true })
  })

  it('an op edited in transit is caught, even if the forger re-hashes the chain', () => {
    const batch = signBatch(makeOps(10), userKey, deviceKey)
    const edited = batch.ops.map((op, i) => (i === 4 ? { ...op, quantity: 500 } : op))
    expect(verifyBatch({ ...batch, ops: edited }, keys)).toMatchObject({ ok: false, reason: 'bad-hash' })
    const rehashed = rechain(edited, 4)
    expect(verifyBatch({ ...batch, ops: rehashed }, keys)).toMatchObject({
      ok: false,
      reason: 'summary-mismatch',
    })
    expect(verifyBatch({ ...batch, ops: rehashed, lastHash: rehashed[9]?.hash ?? '' }, keys)).toMatchObject({
      ok: false,
      reason: 'bad-device-signature',
    })
  })

  it('dropped, reordered or appended ops are caught', () => {
    const batch = signBatch(makeOps(10), userKey, deviceKey)
    expect(verifyBatch({ ...batch, ops: batch.ops.filter((_, i) => i !== 3) }, keys)).toMatchObject({
      ok: false,
      reason: 'broken-chain',
    })
    const swapped = [...batch.ops]
    ;[swapped[2], swapped[3]] = [swapped[3] ?? swapped[0]!, swapped[2] ?? swapped[0]!]
    expect(verifyBatch({ ...batch, ops: swapped }, keys)).toMatchObject({ ok: false, reason: 'broken-chain' })
    expect(verifyBatch({ ...batch, ops: batch.ops.slice(0, 9) }, keys)).toMatchObject({
      ok: false,
      reason: 'summary-mismatch',
    })
    const extra = makeOps(1, { firstSeq: 11, prev: batch.lastHash })
    expect(verifyBatch({ ...batch, ops: [...batch.ops, ...extra] }, keys)).toMatchObject({
      ok: false,
      reason: 'summary-mismatch',
    })
  })

  it('a revoked device, an unknown user or a forged signature is refused', () => {
    const batch = signBatch(makeOps(5), userKey, deviceKey)
    expect(verifyBatch(batch, { ...keys, devices: {} })).toMatchObject({
      ok: false,
      reason: 'unknown-device',
    })
    expect(verifyBatch(batch, { ...keys, users: {} })).toMatchObject({ ok: false, reason: 'unknown-user' })
    const forged = signBatch(makeOps(5), seed(9), deviceKey)
    expect(verifyBatch(forged, keys)).toMatchObject({ ok: false, reason: 'bad-user-signature' })
    const stolen = signBatch(makeOps(5), userKey, seed(8))
    expect(verifyBatch(stolen, keys)).toMatchObject({ ok: false, reason: 'bad-device-signature' })
    // claiming another device id while signing with our key
    const other = makeOps(5, { device: 'dev_tablet4' })
    const claimed = signBatch(other, userKey, deviceKey)
    expect(
      verifyBatch(claimed, {
        ...keys,
        devices: { ...keys.devices, dev_tablet4: bytesToHex(ed25519.getPublicKey(seed(4))) },
      }),
    ).toMatchObject({
      ok: false,
      reason: 'bad-device-signature',
    })
  })

  it('refuses to sign ops of two users; splitByUser cuts runs at shift changes', () => {
    const morning = makeOps(3, { user: 'u_a' })
    const evening = makeOps(2, { user: 'u_b', firstSeq: 4, prev: morning[2]?.hash ?? null })
    expect(() => signBatch([...morning, ...evening], userKey, deviceKey)).toThrow(/cannot sign/)
    expect(splitByUser([...morning, ...evening]).map((r) => r.length)).toEqual([3, 2])
  })
})
