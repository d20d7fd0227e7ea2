import { EncryptedStorageAdapter, signBatch, verifyBatch } from '@clinic-mesh/security'
import { ed25519 } from '@noble/curves/ed25519.js'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { describe, expect, it } from 'vitest'
import { freshKeyring } from './helpers.js'
import { MemoryStorage } from './memory-storage.js'
import { makeOps } from './ops.js'
import { seededBytes } from './storage-suite.js'

// Measurements, printed for the README; the assertions are the seed 004 goal with wide margins, not benchmarks.
describe('cost', () => {
  it('encrypting and decrypting a 10 KB chunk stays far below 50 ms (seed 004)', async () => {
    const adapter = new EncryptedStorageAdapter(new MemoryStorage(), await freshKeyring())
    const chunks = Array.from({ length: 300 }, (_, i) => seededBytes(10 * 1024, i))
    for (let i = 0; i < 20; i++) await adapter.save(['warm', String(i)], chunks[i] ?? new Uint8Array()) // JIT warm-up
    let t = performance.now()
    for (const [i, c] of chunks.entries()) await adapter.save(['3WkbkQ7EkwY1Qrx9dz4Xp6bZ6SRg', 'incremental', String(i)], c)
    const saveMs = (performance.now() - t) / chunks.length
    t = performance.now()
    for (let i = 0; i < chunks.length; i++) await adapter.load(['3WkbkQ7EkwY1Qrx9dz4Xp6bZ6SRg', 'incremental', String(i)])
    const loadMs = (performance.now() - t) / chunks.length
    console.warn(`encrypted save ${saveMs.toFixed(3)} ms / 10 KB chunk, load ${loadMs.toFixed(3)} ms / 10 KB chunk`)
    expect(saveMs).toBeLessThan(50)
    expect(loadMs).toBeLessThan(50)
  })

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
      const perOp = ops.map((op) => ({ hash: hexToBytes(op.hash), sig: ed25519.sign(hexToBytes(op.hash), userKey) }))
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
