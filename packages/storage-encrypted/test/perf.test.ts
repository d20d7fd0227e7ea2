import { EncryptedStorageAdapter } from '@clinic-mesh/storage-encrypted'
import { MemoryStorage, seededBytes } from '@clinic-mesh/testing'
import { describe, expect, it } from 'vitest'
import { freshKeyring } from './helpers.js'

// A measurement, printed for the README; the assertion is the seed 004 goal with a wide margin, not a benchmark.
describe('cost', () => {
  it('encrypting and decrypting a 10 KB chunk stays far below 50 ms (seed 004)', async () => {
    const adapter = new EncryptedStorageAdapter(new MemoryStorage(), await freshKeyring())
    const chunks = Array.from({ length: 300 }, (_, i) => seededBytes(10 * 1024, i))
    for (let i = 0; i < 20; i++) await adapter.save(['warm', String(i)], chunks[i] ?? new Uint8Array()) // JIT warm-up
    let t = performance.now()
    for (const [i, c] of chunks.entries())
      await adapter.save(['3WkbkQ7EkwY1Qrx9dz4Xp6bZ6SRg', 'incremental', String(i)], c)
    const saveMs = (performance.now() - t) / chunks.length
    t = performance.now()
    for (let i = 0; i < chunks.length; i++)
      await adapter.load(['3WkbkQ7EkwY1Qrx9dz4Xp6bZ6SRg', 'incremental', String(i)])
    const loadMs = (performance.now() - t) / chunks.length
    console.warn(
      `encrypted save ${saveMs.toFixed(3)} ms / 10 KB chunk, load ${loadMs.toFixed(3)} ms / 10 KB chunk`,
    )
    expect(saveMs).toBeLessThan(50)
    expect(loadMs).toBeLessThan(50)
  })
})
