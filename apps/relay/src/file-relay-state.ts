import type { StorageAdapterInterface } from '@automerge/automerge-repo'
import { AtomicNodeFSStorageAdapter } from '@clinic-mesh/storage-nodefs'
import { SyncStateWriteBehind } from '@clinic-mesh/store'
import { join } from 'node:path'
import { FileRegistryBackend } from './clinic-registry.js'
import { FencedStorage, isDocChunk } from './fenced-storage.js'
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
 * The embedded default (`relay --data DIR`): DIR/repo (documents, atomic chunk writes), DIR/settlement
 * (checkpoints), DIR/clinics.json, DIR/relay-key.json. No database; one relay process per DIR. The settled inventory
 * and conflict queue are fenced as over PostgreSQL: written with each checkpoint, shown to devices only once on disk.
 */
export class FileRelayState implements RelayState {
  readonly kind = 'files'
  /** the documents, fenced, with devices' sync states written behind (as over PostgreSQL) */
  readonly storage: SyncStateWriteBehind
  readonly registry: FileRegistryBackend
  readonly checkpoints: SettlementStore
  readonly ownership = new SoleOwnership()
  readonly fencedDocuments = true
  readonly saveDebounceMs = 100 // automerge-repo's default
  readonly #dir: string
  readonly #fenced = new Set<string>()

  /** `checkpoints`: another store (it then also writes the published documents it is handed). */
  constructor(dir: string, checkpoints?: SettlementStore) {
    this.#dir = dir
    const documents: StorageAdapterInterface = new AtomicNodeFSStorageAdapter(join(dir, 'repo'))
    this.storage = new SyncStateWriteBehind(new FencedStorage(documents, this.#fenced))
    this.registry = new FileRegistryBackend(join(dir, 'clinics.json'))
    this.checkpoints = checkpoints ?? new FileSettlementStore(join(dir, 'settlement'), documents)
  }

  markFenced(documentId: string): void {
    this.#fenced.add(documentId)
  }

  async loadChunks(documentId: string): Promise<Uint8Array[]> {
    const chunks = await this.storage.loadRange([documentId])
    return chunks.flatMap((c) => (isDocChunk(c.key) && c.data ? [c.data] : []))
  }

  loadChunk(key: readonly string[]): Promise<Uint8Array | undefined> {
    return this.storage.load([...key])
  }

  relayKey(): Promise<RelayKey> {
    return loadRelayKey(this.#dir)
  }

  listen(): Promise<void> {
    return Promise.resolve()
  }

  close(): Promise<void> {
    return this.storage.flush()
  }
}
