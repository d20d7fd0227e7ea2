import { runStorageAdapterTests } from '@automerge/automerge-repo/helpers/tests/storage-adapter-tests.js'
import { describe, expect, it } from 'vitest'
import {
  CHUNK_HEADER_BYTES,
  ChunkDecryptionError,
  IV_BYTES,
  TAG_BYTES,
  WebCryptoStorageAdapter,
  chunkKeyId,
  importStorageKey,
} from '@clinic-mesh/storage-webcrypto'
import { MemoryStorage } from '@clinic-mesh/testing'

const rawKey = (): Uint8Array => globalThis.crypto.getRandomValues(new Uint8Array(32))

// automerge-repo's own acceptance suite, unmodified, over an in-memory inner adapter
// (not its DummyStorageAdapter helper: that one's .d.ts pulls automerge-repo's TypeScript sources into the type check)
runStorageAdapterTests(
  async () => ({
    adapter: new WebCryptoStorageAdapter(new MemoryStorage(), await importStorageKey(rawKey(), 7)),
  }),
  'WebCryptoStorageAdapter over MemoryStorage',
)
runStorageAdapterTests(
  () =>
    Promise.resolve({
      adapter: new WebCryptoStorageAdapter(
        new MemoryStorage(),
        new Promise((r) => setTimeout(() => r(importStorageKey(rawKey())), 5)),
      ),
    }),
  'WebCryptoStorageAdapter with a key that arrives later',
)

describe('WebCryptoStorageAdapter', () => {
  const text = 'Chisomo Banda: headache 2 days'

  it('stores no plaintext: header, random IV per chunk, ciphertext, tag', async () => {
    const inner = new MemoryStorage()
    const adapter = new WebCryptoStorageAdapter(inner, await importStorageKey(rawKey(), 3))
    const plain = new TextEncoder().encode(text)
    await adapter.save(['doc', 'incremental', 'a'], plain)
    await adapter.save(['doc', 'incremental', 'b'], plain)
    const a = inner.data.get(JSON.stringify(['doc', 'incremental', 'a']))!
    const b = inner.data.get(JSON.stringify(['doc', 'incremental', 'b']))!
    expect(a.length).toBe(CHUNK_HEADER_BYTES + IV_BYTES + plain.length + TAG_BYTES)
    expect(chunkKeyId(a)).toBe(3)
    expect(Buffer.from(a).includes(Buffer.from(text))).toBe(false)
    expect(
      Buffer.from(a.subarray(CHUNK_HEADER_BYTES, CHUNK_HEADER_BYTES + IV_BYTES)).equals(
        Buffer.from(b.subarray(CHUNK_HEADER_BYTES, CHUNK_HEADER_BYTES + IV_BYTES)),
      ),
    ).toBe(false)
    expect(new TextDecoder().decode(await adapter.load(['doc', 'incremental', 'a']))).toBe(text)
  })

  it('refuses a chunk moved to another key, a tampered chunk, and another key', async () => {
    const inner = new MemoryStorage()
    const raw = rawKey()
    const adapter = new WebCryptoStorageAdapter(inner, await importStorageKey(raw))
    await adapter.save(['doc1', 'snapshot', 'x'], new TextEncoder().encode(text))
    const stored = inner.data.get(JSON.stringify(['doc1', 'snapshot', 'x']))!
    inner.data.set(JSON.stringify(['doc2', 'snapshot', 'x']), stored)
    await expect(adapter.load(['doc2', 'snapshot', 'x'])).rejects.toBeInstanceOf(ChunkDecryptionError)
    // ['ab','c'] and ['a','bc'] bind differently
    await adapter.save(['ab', 'c'], new Uint8Array([1]))
    inner.data.set(JSON.stringify(['a', 'bc']), inner.data.get(JSON.stringify(['ab', 'c']))!)
    await expect(adapter.load(['a', 'bc'])).rejects.toBeInstanceOf(ChunkDecryptionError)
    const tampered = new Uint8Array(stored)
    tampered[tampered.length - 20]! ^= 1
    inner.data.set(JSON.stringify(['doc1', 'snapshot', 'x']), tampered)
    await expect(adapter.load(['doc1', 'snapshot', 'x'])).rejects.toBeInstanceOf(ChunkDecryptionError)
    inner.data.set(JSON.stringify(['doc1', 'snapshot', 'x']), stored)
    expect(new TextDecoder().decode(await adapter.load(['doc1', 'snapshot', 'x']))).toBe(text)
    const other = new WebCryptoStorageAdapter(inner, await importStorageKey(rawKey()))
    await expect(other.load(['doc1', 'snapshot', 'x'])).rejects.toBeInstanceOf(ChunkDecryptionError)
    await expect(other.loadRange(['doc1'])).rejects.toBeInstanceOf(ChunkDecryptionError)
    const reopened = new WebCryptoStorageAdapter(inner, await importStorageKey(raw))
    expect(new TextDecoder().decode(await reopened.load(['doc1', 'snapshot', 'x']))).toBe(text)
    // a chunk the inner adapter holds in the clear (an older plain copy) is refused, not returned
    inner.data.set(JSON.stringify(['doc3']), new TextEncoder().encode(text))
    await expect(adapter.load(['doc3'])).rejects.toBeInstanceOf(ChunkDecryptionError)
  })

  it('keeps write order per key although encryption is asynchronous, and reads wait for pending writes', async () => {
    const inner = new MemoryStorage()
    const adapter = new WebCryptoStorageAdapter(inner, await importStorageKey(rawKey()))
    const key = ['doc', 'sync-state', 'peer']
    let n = 0
    inner.delay = () => (n++ % 2 === 0 ? 15 : 0) // the first write is slow: without ordering the last one would lose
    const big = new Uint8Array(200_000).fill(1)
    const writes = [
      adapter.save(key, big),
      adapter.save(key, new Uint8Array([2])),
      adapter.save(key, new Uint8Array([3])),
    ]
    expect(await adapter.load(key)).toStrictEqual(new Uint8Array([3]))
    await Promise.all(writes)
    expect(await adapter.load(key)).toStrictEqual(new Uint8Array([3]))
    void adapter.save(['doc', 'x'], new Uint8Array([9]))
    expect((await adapter.loadRange(['doc'])).length).toBe(2)
    void adapter.save(['doc', 'y'], new Uint8Array([9]))
    await adapter.removeRange(['doc'])
    expect(await adapter.loadRange(['doc'])).toStrictEqual([])
  })

  it('only takes 32-byte keys', async () => {
    await expect(importStorageKey(new Uint8Array(16))).rejects.toThrow(RangeError)
  })
})
