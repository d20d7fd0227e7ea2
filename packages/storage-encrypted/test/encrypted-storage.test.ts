import { Keyring, generateDataKey } from '@clinic-mesh/security'
import { EncryptedStorageAdapter, chunkKeyId } from '@clinic-mesh/storage-encrypted'
import { MemoryStorage, seededBytes } from '@clinic-mesh/testing'
import { describe, expect, it } from 'vitest'
import { freshKeyring } from './helpers.js'

const DOC = '3WkbkQ7EkwY1Qrx9dz4Xp6bZ6SRg'
const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const stored = (inner: MemoryStorage, key: string[]): Uint8Array => {
  const bytes = inner.data.get(JSON.stringify(key))
  if (!bytes) throw new Error(`nothing stored at ${key.join('/')}`)
  return bytes
}

describe('EncryptedStorageAdapter', () => {
  it('stores ciphertext with a format byte and key id, and a fresh IV every time', async () => {
    const inner = new MemoryStorage()
    const adapter = new EncryptedStorageAdapter(inner, await freshKeyring(7))
    const plain = text('Amina Otieno, HIV positive, on ART since 2019')
    await adapter.save([DOC, 'snapshot', 'a'], plain)
    await adapter.save([DOC, 'snapshot', 'b'], plain)
    const a = stored(inner, [DOC, 'snapshot', 'a'])
    const b = stored(inner, [DOC, 'snapshot', 'b'])
    expect(a[0]).toBe(1)
    expect(chunkKeyId(a)).toBe(7)
    expect(a.length).toBe(plain.length + 5 + 12 + 16)
    expect(Buffer.from(a).includes(Buffer.from('Otieno'))).toBe(false)
    expect(Buffer.from(a.subarray(5)).equals(Buffer.from(b.subarray(5)))).toBe(false)
    expect(await adapter.load([DOC, 'snapshot', 'a'])).toEqual(plain)
  })

  it('a chunk moved or copied to another key fails with DecryptionError', async () => {
    const inner = new MemoryStorage()
    const adapter = new EncryptedStorageAdapter(inner, await freshKeyring())
    await adapter.save([DOC, 'snapshot', 'a'], text('chart of patient A'))
    await inner.save([DOC, 'snapshot', 'b'], stored(inner, [DOC, 'snapshot', 'a']))
    await inner.save(['4mHdzqSi2BycRY8uTYfvD1qJ9a7c', 'snapshot', 'a'], stored(inner, [DOC, 'snapshot', 'a']))
    await expect(adapter.load([DOC, 'snapshot', 'b'])).rejects.toMatchObject({ name: 'DecryptionError' })
    await expect(adapter.load(['4mHdzqSi2BycRY8uTYfvD1qJ9a7c', 'snapshot', 'a'])).rejects.toMatchObject({
      name: 'DecryptionError',
    })
    await expect(adapter.loadRange([DOC])).rejects.toMatchObject({ name: 'DecryptionError' })
    expect(await adapter.load([DOC, 'snapshot', 'a'])).toEqual(text('chart of patient A'))
  })

  it('a flipped bit, a truncated chunk, a changed key id or another device key fail with DecryptionError', async () => {
    const inner = new MemoryStorage()
    const keyring = await freshKeyring(1)
    const adapter = new EncryptedStorageAdapter(inner, keyring)
    const key = [DOC, 'incremental', 'x']
    await adapter.save(key, seededBytes(1000, 3))
    const good = stored(inner, key)

    const flipped = new Uint8Array(good)
    flipped[40] = (flipped[40] ?? 0) ^ 1
    await inner.save(key, flipped)
    await expect(adapter.load(key)).rejects.toMatchObject({ name: 'DecryptionError' })

    await inner.save(key, good.subarray(0, 20))
    await expect(adapter.load(key)).rejects.toMatchObject({ name: 'DecryptionError' })

    const otherId = new Uint8Array(good)
    otherId[4] = 2
    await inner.save(key, otherId)
    await expect(adapter.load(key)).rejects.toMatchObject({ name: 'DecryptionError' })

    await inner.save(key, good)
    const stranger = new EncryptedStorageAdapter(inner, await freshKeyring(1))
    await expect(stranger.load(key)).rejects.toMatchObject({ name: 'DecryptionError' })
    expect(await adapter.load(key)).toEqual(seededBytes(1000, 3))
  })

  it('rotation is lazy: new writes use the new key, old chunks stay readable until their key is retired', async () => {
    const inner = new MemoryStorage()
    const keyring = await freshKeyring(1)
    const adapter = new EncryptedStorageAdapter(inner, keyring)
    await adapter.save([DOC, 'snapshot', 'old'], text('old'))
    adapter.rotate((await generateDataKey(2)).dataKey)
    await adapter.save([DOC, 'snapshot', 'new'], text('new'))
    expect(chunkKeyId(stored(inner, [DOC, 'snapshot', 'old']))).toBe(1)
    expect(chunkKeyId(stored(inner, [DOC, 'snapshot', 'new']))).toBe(2)
    expect(await adapter.load([DOC, 'snapshot', 'old'])).toEqual(text('old'))
    keyring.retire(1)
    await expect(adapter.load([DOC, 'snapshot', 'old'])).rejects.toMatchObject({ name: 'DecryptionError' })
  })

  it('reencrypt rewrites every old chunk under the prefixes so the old key can be retired', async () => {
    const inner = new MemoryStorage()
    const keyring = await freshKeyring(1)
    const adapter = new EncryptedStorageAdapter(inner, keyring)
    for (let i = 0; i < 5; i++) await adapter.save([DOC, 'incremental', `c${i}`], seededBytes(100, i))
    adapter.rotate((await generateDataKey(2)).dataKey)
    await adapter.save([DOC, 'incremental', 'c5'], seededBytes(100, 5))
    expect(await adapter.reencrypt([[DOC]])).toEqual({ rewritten: 5, current: 1, skipped: 0 })
    keyring.retire(1)
    for (let i = 0; i < 6; i++) {
      expect(chunkKeyId(stored(inner, [DOC, 'incremental', `c${i}`]))).toBe(2)
      expect(await adapter.load([DOC, 'incremental', `c${i}`])).toEqual(seededBytes(100, i))
    }
  })

  it('reencrypt never overwrites a chunk the repo saved or removed while it ran', async () => {
    const inner = new MemoryStorage()
    const adapter = new EncryptedStorageAdapter(inner, new Keyring((await generateDataKey(1)).dataKey))
    await adapter.save([DOC, 'sync-state', 'p'], text('stale'))
    await adapter.save([DOC, 'incremental', 'gone'], text('compacted away'))
    adapter.rotate((await generateDataKey(2)).dataKey)
    let release = (): void => undefined
    inner.gate = new Promise<void>((resolve) => (release = resolve))
    const running = adapter.reencrypt([[DOC]]) // reads the old chunks, then waits on the gate
    await adapter.save([DOC, 'sync-state', 'p'], text('fresh'))
    await adapter.remove([DOC, 'incremental', 'gone'])
    release()
    expect(await running).toEqual({ rewritten: 0, current: 0, skipped: 2 })
    expect(await adapter.load([DOC, 'sync-state', 'p'])).toEqual(text('fresh'))
    expect(await adapter.load([DOC, 'incremental', 'gone'])).toBeUndefined()
  })

  it('concurrent saves and a remove on one key reach the inner adapter in call order', async () => {
    const inner = new MemoryStorage()
    const adapter = new EncryptedStorageAdapter(inner, await freshKeyring())
    const key = [DOC, 'sync-state', 'peer']
    // large first payload: its encryption finishes last, yet its write must not land last
    await Promise.all([
      adapter.save(key, seededBytes(2_000_000, 1)),
      adapter.save(key, text('b')),
      adapter.save(key, text('c')),
    ])
    expect(await adapter.load(key)).toEqual(text('c'))
    await Promise.all([adapter.save(key, seededBytes(2_000_000, 2)), adapter.remove(key)])
    expect(await adapter.load(key)).toBeUndefined()
  })
})
