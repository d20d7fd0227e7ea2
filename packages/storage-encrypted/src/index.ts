export type { ReencryptReport } from './encrypted-storage-adapter.js'
export { EncryptedStorageAdapter, chunkKeyId } from './encrypted-storage-adapter.js'
export type { AesKey, ChunkAadLabel, ChunkErrorFactory } from './chunk-layout.js'
export {
  CHUNK_AAD_LABELS,
  CHUNK_FORMAT,
  CHUNK_HEADER_BYTES,
  IV_BYTES,
  TAG_BYTES,
  chunkHeader,
  encodeStorageKey,
  freshBytes,
  openChunk,
  readChunkKeyId,
  sealChunk,
} from './chunk-layout.js'
