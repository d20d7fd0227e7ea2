import { randomBytes } from 'node:crypto'
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Chunk, StorageKey } from '@automerge/automerge-repo'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'

/** Where temp files live while being written: outside every document's directory, so `loadRange` never lists one. */
export const TEMP_DIR = '.tmp'

/** The stock adapter's file layout: `DIR/ab/cdef…/rest/of/key`. */
function filePath(base: string, key: StorageKey): string {
  const [first = '', ...rest] = key
  return join(base, first.slice(0, 2), first.slice(2), ...rest)
}

/**
 * NodeFSStorageAdapter with atomic saves: a chunk is written to `DIR/.tmp/…` and renamed into place, so a full disk
 * or a crash mid-write never leaves a truncated chunk file. (The stock adapter writes in place: on ENOSPC it leaves
 * an empty file, which the encrypted adapter rightly refuses to decrypt — and then the whole document fails to load.)
 * Empty chunk files left by older versions are treated as absent: no valid chunk is empty.
 */
export class AtomicNodeFSStorageAdapter extends NodeFSStorageAdapter {
  readonly #base: string

  constructor(baseDirectory: string) {
    super(baseDirectory)
    this.#base = baseDirectory
  }

  override async save(key: StorageKey, data: Uint8Array): Promise<void> {
    const file = filePath(this.#base, key)
    const tmpDir = join(this.#base, TEMP_DIR)
    const tmp = join(tmpDir, `${randomBytes(8).toString('hex')}.tmp`)
    try {
      await mkdir(tmpDir, { recursive: true })
      await mkdir(dirname(file), { recursive: true })
      await writeFile(tmp, data)
      await rename(tmp, file)
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined)
      throw err
    }
  }

  override async load(key: StorageKey): Promise<Uint8Array | undefined> {
    const data = await super.load(key)
    return data && data.byteLength > 0 ? data : undefined
  }

  override async loadRange(prefix: StorageKey): Promise<Chunk[]> {
    return (await super.loadRange(prefix)).filter((c) => c.data !== undefined && c.data.byteLength > 0)
  }
}
