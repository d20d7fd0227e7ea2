import type { StorageAdapterInterface } from '@automerge/automerge-repo'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import { join } from 'node:path'
import { FileRegistryBackend } from './clinic-registry.js'
import { loadRelayKey, type RelayKey } from './relay-key.js'
import type { ClinicOwnership, Fence, RelayState } from './relay-state.js'
import { FileSettlementStore, type SettlementStore } from './settlement-store.js'

/** A relay alone on its files settles every clinic it has: no leases, every fence is epoch 0. */
export class SoleOwnership implements ClinicOwnership {
  readonly owner = 'sole'
  acquire(): Promise<Fence> {
    return Promise.resolve({ owner: this.owner, epoch: 0 })
  }
  fenceOf(): Fence {
    return { owner: this.owner, epoch: 0 }
  }
  release(): Promise<void> {
    return Promise.resolve()
  }
  start(): void {}
  stop(): Promise<void> {
    return Promise.resolve()
  }
}

/**
 * The embedded default (`relay --data DIR`): DIR/repo (documents), DIR/settlement (checkpoints), DIR/clinics.json,
 * DIR/relay-key.json. No database; one relay process per DIR.
 */
export class FileRelayState implements RelayState {
  readonly kind = 'files'
  readonly storage: StorageAdapterInterface
  readonly registry: FileRegistryBackend
  readonly checkpoints: SettlementStore
  readonly ownership = new SoleOwnership()
  readonly fencedDocuments = false
  readonly saveDebounceMs = 100 // automerge-repo's default
  readonly #dir: string

  constructor(dir: string, checkpoints?: SettlementStore) {
    this.#dir = dir
    this.storage = new NodeFSStorageAdapter(join(dir, 'repo'))
    this.registry = new FileRegistryBackend(join(dir, 'clinics.json'))
    this.checkpoints = checkpoints ?? new FileSettlementStore(join(dir, 'settlement'))
  }

  markFenced(): void {}

  async loadChunks(documentId: string): Promise<Uint8Array[]> {
    const chunks = await this.storage.loadRange([documentId])
    return chunks.flatMap((c) => (isDocChunk(c.key) && c.data ? [c.data] : []))
  }

  relayKey(): Promise<RelayKey> {
    return loadRelayKey(this.#dir)
  }

  listen(): Promise<void> {
    return Promise.resolve()
  }

  close(): Promise<void> {
    return Promise.resolve()
  }
}

/** automerge-repo's chunk keys: `[documentId, 'snapshot' | 'incremental', hash]` (others are sync state). */
export function isDocChunk(key: readonly string[]): boolean {
  return key[1] === 'snapshot' || key[1] === 'incremental'
}
