import type { Chunk, StorageAdapterInterface, StorageKey } from '@automerge/automerge-repo'
import { StorageFullError, StorageUnavailableError } from './errors.js'

const FULL = new Set(['ENOSPC', 'EDQUOT', 'EFBIG'])
const UNAVAILABLE = new Set(['EROFS', 'EACCES', 'EPERM', 'EIO', 'ENOTDIR', 'EMFILE', 'ENFILE', 'EBUSY'])

const HELD =
  'The change is held in memory (and may reach peers) but is not durable until the disk accepts writes again; check before retrying'

/** A change of disk health, reported once per change (not once per failed operation). */
export type StorageHealthEvent =
  | { readonly event: 'storage-fault'; readonly error: string; readonly code: string | null }
  | { readonly event: 'storage-recovered'; readonly after: string }

export interface FaultReportingInit {
  /** Called on each change of disk health (e.g. the device writes it as a log line). Default: nothing. */
  readonly onHealthChange?: (event: StorageHealthEvent) => void
}

/** The storage error as a named error (507 / 503 at the device API), or the error itself when it is not a disk fault. */
export function storageFault(err: unknown, what: string, write = false): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code
  if (code && FULL.has(code))
    return new StorageFullError(`not saved: the disk is full (${code}) while ${what}. ${HELD}`, {
      cause: err,
    })
  // a recursive mkdir on a read-only file system reports ENOENT for the parent it could not create
  if (code && (UNAVAILABLE.has(code) || (write && code === 'ENOENT')))
    return new StorageUnavailableError(
      `not saved: the storage refused a write (${code}) while ${what}. ${HELD}`,
      { cause: err },
    )
  return err
}

/**
 * Wraps the repo's storage adapter: disk faults surface as StorageFullError / StorageUnavailableError (so the API
 * answers 507 / 503 instead of a 500), each change of disk health is reported once to `onHealthChange`
 * (`storage-fault`, `storage-recovered`). A failed save leaves automerge-repo's stored heads unchanged, so the next
 * save after the fault writes the document again: nothing already acknowledged is lost, nothing unacknowledged is
 * claimed.
 */
export class FaultReportingStorage implements StorageAdapterInterface {
  readonly #inner: StorageAdapterInterface
  /** Name of the last fault, undefined while the disk is healthy. */
  fault: string | undefined
  #sealed = false
  readonly #onHealthChange: (event: StorageHealthEvent) => void

  constructor(inner: StorageAdapterInterface, init: FaultReportingInit = {}) {
    this.#inner = inner
    this.#onHealthChange = init.onHealthChange ?? (() => undefined)
  }

  /** No read or write reaches the disk any more (a revoked device wipes its data: nothing may write it back). */
  seal(): void {
    this.#sealed = true
  }

  async #run<T>(what: string, write: boolean, fn: () => Promise<T>): Promise<T> {
    if (this.#sealed) return undefined as T
    try {
      const out = await fn()
      if (write && this.fault !== undefined) {
        this.#onHealthChange({ event: 'storage-recovered', after: this.fault })
        this.fault = undefined
      }
      return out
    } catch (err) {
      const typed = storageFault(err, what, write)
      if (typed instanceof Error && typed !== err && this.fault !== typed.name) {
        this.fault = typed.name
        this.#onHealthChange({
          event: 'storage-fault',
          error: typed.name,
          code: (err as NodeJS.ErrnoException).code ?? null,
        })
      }
      throw typed
    }
  }

  load(key: StorageKey): Promise<Uint8Array | undefined> {
    return this.#run('reading', false, () => this.#inner.load(key))
  }

  save(key: StorageKey, data: Uint8Array): Promise<void> {
    return this.#run('saving', true, () => this.#inner.save(key, data))
  }

  remove(key: StorageKey): Promise<void> {
    return this.#run('removing', true, () => this.#inner.remove(key))
  }

  async loadRange(prefix: StorageKey): Promise<Chunk[]> {
    return (await this.#run('reading', false, () => this.#inner.loadRange(prefix))) ?? []
  }

  removeRange(prefix: StorageKey): Promise<void> {
    return this.#run('removing', true, () => this.#inner.removeRange(prefix))
  }
}
