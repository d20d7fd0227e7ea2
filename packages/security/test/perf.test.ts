import { signBatch, verifyBatch } from '@clinic-mesh/security'
import { ed25519 } from '@noble/curves/ed25519.js'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { describe, expect, it } from 'vitest'
import { makeOps } from './ops.js'

// Measurements, printed for the README; the assertions are the seed 004 goal with wide margins, not benchmarks.
describe('cost', () => {
  it('verifying a signed batch beats verifying one signature per op', () => {
    const userKey = new Uint8Array(32).fill(1)
    const deviceKey = new Uint8Array(32).fill(2)
    const keys = {
      devices: { dev_tablet3: bytesToHex(ed25519.getPublicKey(deviceKey)) },
      users: { u_pharm: bytesToHex(ed25519.getPublicKey(userKey)) },
    }
    const userPk = ed25519.getPublicKey(userKey)
    const rates: Record<string, number> = {}
    for (const n of [100, 1000]) {
      const ops = makeOps(n)
      const batch = signBatch(ops, userKey, deviceKey)
      const perOp = ops.map((op) => ({
        hash: hexToBytes(op.hash),
        sig: ed25519.sign(hexToBytes(op.hash), userKey),
      }))
      verifyBatch(signBatch(makeOps(10), userKey, deviceKey), keys) // warm-up
      let t = performance.now()
      expect(verifyBatch(batch, keys)).toEqual({ ok: true })
      const batchRate = n / ((performance.now() - t) / 1000)
      t = performance.now()
      for (const p of perOp) expect(ed25519.verify(p.sig, p.hash, userPk)).toBe(true)
      const perOpRate = n / ((performance.now() - t) / 1000)
      rates[`batch-${n}`] = Math.round(batchRate)
      rates[`per-op-${n}`] = Math.round(perOpRate)
    }
    console.warn(`verify throughput (ops/s): ${JSON.stringify(rates)}`)
    expect(rates['batch-1000']).toBeGreaterThan(5 * (rates['per-op-1000'] ?? Infinity))
  })
})
