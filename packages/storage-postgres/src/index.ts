export { InvalidTableNameError, PostgresStorageError } from './errors.js'
export type { PostgresStorageReason } from './errors.js'
export { PostgresStorageAdapter } from './postgres-storage-adapter.js'
export type { PostgresStorageInit } from './postgres-storage-adapter.js'
