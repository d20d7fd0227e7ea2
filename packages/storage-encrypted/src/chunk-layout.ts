import type { StorageKey } from '@automerge/automerge-repo'

/**
 * The one definition of an encrypted chunk, shared by the device node's EncryptedStorageAdapter (this package) and
 * the browser's WebCryptoStorageAdapter (`@clinic-mesh/storage-webcrypto`). Browser-safe: WebCrypto through
 * `globalThis.crypto` only, no Node imports (imported as `@clinic-mesh/storage-encrypted/chunk-layout`).
 *
 * Stored bytes: `format(1) | keyId(4, big-endian) | iv(12) | ciphertext | tag(16)`, a random 96-bit IV per chunk.
 * Additional authenticated data: `label | header | length-prefixed UTF-8 of every storage key part`, so a chunk copied
 * or moved to another storage key, a changed key id or a flipped bit fails authentication.
 */

/** First byte of every stored chunk: the chunk format. */
export const CHUNK_FORMAT = 0x01
/** format (1) + key id (4, big-endian). */
export const CHUNK_HEADER_BYTES = 5
export const IV_BYTES = 12
export const TAG_BYTES = 16

/** The AAD label of each writer: a device chunk does not open as a browser chunk, nor the reverse. */
export const CHUNK_AAD_LABELS = {
  device: 'clinic-mesh/chunk/v1',
  browser: 'clinic-mesh/browser-chunk/v1',
} as const
export type ChunkAadLabel = (typeof CHUNK_AAD_LABELS)[keyof typeof CHUNK_AAD_LABELS]

const subtle = globalThis.crypto.subtle

/** A WebCrypto AES-GCM key (DOM `CryptoKey` in the browser, `webcrypto.CryptoKey` in Node). */
export type AesKey = Awaited<ReturnType<typeof subtle.importKey>>

/** Builds the error an adapter throws for a chunk that does not open (each adapter has its own named error). */
export type ChunkErrorFactory = (message: string, options?: { cause?: unknown }) => Error

/** Copies into a fresh ArrayBuffer-backed view (WebCrypto refuses views over shared or foreign buffers). */
export function freshBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(new ArrayBuffer(bytes.length))
  out.set(bytes)
  return out
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(new ArrayBuffer(parts.reduce((n, p) => n + p.length, 0)))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** Length-prefixed UTF-8 of every key part: unambiguous, so ['ab','c'] and ['a','bc'] bind differently. */
export function encodeStorageKey(key: StorageKey): Uint8Array {
  const enc = new TextEncoder()
  const parts: Uint8Array[] = []
  for (const part of key) {
    const bytes = enc.encode(part)
    const len = new Uint8Array(4)
    new DataView(len.buffer).setUint32(0, bytes.length)
    parts.push(len, bytes)
  }
  return concat(...parts)
}

/** The 5-byte header of a chunk sealed with key `keyId`. */
export function chunkHeader(keyId: number): Uint8Array {
  const h = new Uint8Array(CHUNK_HEADER_BYTES)
  h[0] = CHUNK_FORMAT
  new DataView(h.buffer).setUint32(1, keyId)
  return h
}

/** The key id in a stored chunk's header, or undefined when the bytes are not a chunk of this format. */
export function readChunkKeyId(stored: Uint8Array): number | undefined {
  if (stored.length < CHUNK_HEADER_BYTES || stored[0] !== CHUNK_FORMAT) return undefined
  return new DataView(stored.buffer, stored.byteOffset, stored.byteLength).getUint32(1)
}

function aad(label: ChunkAadLabel, header: Uint8Array, key: StorageKey): Uint8Array<ArrayBuffer> {
  return concat(new TextEncoder().encode(label), header, encodeStorageKey(key))
}

/** Seals `data` stored under `storageKey` with key `keyId`: header, fresh random IV, AES-256-GCM ciphertext and tag. */
export async function sealChunk(
  label: ChunkAadLabel,
  keyId: number,
  aesKey: AesKey,
  storageKey: StorageKey,
  data: Uint8Array,
): Promise<Uint8Array> {
  const plain = freshBytes(data) // the caller may reuse its buffer while encryption runs
  const h = chunkHeader(keyId)
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(IV_BYTES))
  const sealed = await subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: aad(label, h, storageKey) },
    aesKey,
    plain,
  )
  return concat(h, iv, new Uint8Array(sealed))
}

/**
 * Opens a stored chunk with `aesKey` (the caller picked it by `readChunkKeyId`). Too short, wrong key, moved or
 * tampered bytes: throws `fail(...)`, the caller's named error.
 */
export async function openChunk(
  label: ChunkAadLabel,
  aesKey: AesKey,
  storageKey: StorageKey,
  stored: Uint8Array,
  fail: ChunkErrorFactory,
): Promise<Uint8Array> {
  const where = `chunk ${storageKey.join('/')}`
  if (stored.length < CHUNK_HEADER_BYTES + IV_BYTES + TAG_BYTES)
    throw fail(`${where}: too short to be encrypted data`)
  const h = stored.subarray(0, CHUNK_HEADER_BYTES)
  const iv = stored.subarray(CHUNK_HEADER_BYTES, CHUNK_HEADER_BYTES + IV_BYTES)
  const body = stored.subarray(CHUNK_HEADER_BYTES + IV_BYTES)
  try {
    const plain = await subtle.decrypt(
      { name: 'AES-GCM', iv: freshBytes(iv), additionalData: aad(label, h, storageKey) },
      aesKey,
      freshBytes(body),
    )
    return new Uint8Array(plain)
  } catch (cause) {
    throw fail(`${where}: authentication failed (wrong key, moved or tampered data)`, { cause })
  }
}
