import {
  CHUNK_AAD_LABELS,
  CHUNK_FORMAT,
  CHUNK_HEADER_BYTES,
  IV_BYTES,
  TAG_BYTES,
  openChunk,
  readChunkKeyId,
  sealChunk,
} from '@clinic-mesh/storage-encrypted/chunk-layout'
import { describe, expect, it } from 'vitest'

class LayoutTestError extends Error {
  override readonly name = 'LayoutTestError'
}
const fail = (message: string, options?: { cause?: unknown }): Error => new LayoutTestError(message, options)
const aesKey = () =>
  globalThis.crypto.subtle.importKey(
    'raw',
    globalThis.crypto.getRandomValues(new Uint8Array(32)),
    { name: 'AES-GCM' },
    false,
    ['encrypt', 'decrypt'],
  )
const KEY = ['3WkbkQ7EkwY1Qrx9dz4Xp6bZ6SRg', 'snapshot', 'a']

describe('chunk layout (shared by the device and the browser adapters)', () => {
  it('format byte, big-endian key id, IV, ciphertext, tag', async () => {
    const key = await aesKey()
    const sealed = await sealChunk(CHUNK_AAD_LABELS.device, 0x01020304, key, KEY, new Uint8Array(10))
    expect(sealed.length).toBe(CHUNK_HEADER_BYTES + IV_BYTES + 10 + TAG_BYTES)
    expect([...sealed.subarray(0, CHUNK_HEADER_BYTES)]).toEqual([CHUNK_FORMAT, 1, 2, 3, 4])
    expect(readChunkKeyId(sealed)).toBe(0x01020304)
    expect(readChunkKeyId(new Uint8Array([2, 0, 0, 0, 1]))).toBeUndefined()
    expect(readChunkKeyId(new Uint8Array([CHUNK_FORMAT, 0]))).toBeUndefined()
    expect(await openChunk(CHUNK_AAD_LABELS.device, key, KEY, sealed, fail)).toEqual(new Uint8Array(10))
  })

  it("a device chunk does not open as a browser chunk, nor under another storage key; errors are the caller's", async () => {
    const key = await aesKey()
    const sealed = await sealChunk(CHUNK_AAD_LABELS.device, 1, key, KEY, new Uint8Array([7]))
    await expect(openChunk(CHUNK_AAD_LABELS.browser, key, KEY, sealed, fail)).rejects.toBeInstanceOf(
      LayoutTestError,
    )
    await expect(
      openChunk(CHUNK_AAD_LABELS.device, key, [...KEY.slice(0, 2), 'b'], sealed, fail),
    ).rejects.toMatchObject({ name: 'LayoutTestError' })
    await expect(openChunk(CHUNK_AAD_LABELS.device, key, KEY, sealed.subarray(0, 20), fail)).rejects.toThrow(
      /too short/,
    )
  })
})
