import { randomBytes } from 'node:crypto'
import { renameSync, unlinkSync, writeFileSync } from 'node:fs'
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join, sep } from 'node:path'
import type { Chunk, StorageKey } from '@automerge/automerge-repo'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'

/** Where temp files live while being written: outside every document's directory, so `loadRange` never lists one. */
export const TEMP_DIR = '.tmp'

const keyString = (key: StorageKey): string => JSON.stringify(key)

/**
 * Chunks up to this size are written (and removed) synchronously: into the page cache that takes well under a
 * millisecond, while the same write through libuv's thread pool is four hops (open, write, close, rename), each one
 * queued behind every other file operation of the process and then behind the event loop. On a busy device (the
 * registration desk, issue 17 #8: a tablet saving three documents per registration while it syncs the other
 * tablets' writes) those hops were most of a registration's time. Bigger chunks (a join's snapshots) stay async.
 */
export const SYNC_WRITE_MAX_BYTES = 256 * 1024

/** Whether the key (as `keyString`) lies under the prefix: a whole-part match, so ['ab'] is not under ['a']. */
function under(keyText: string, prefix: StorageKey): boolean {
  if (prefix.length === 0) return true
  const open = JSON.stringify(prefix).slice(0, -1)
  const next = keyText[open.length]
  return keyText.startsWith(open) && (next === ',' || next === ']')
}

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
 *
 * `loadRange` lists chunks in a stable order: first the keys this instance saved, in the order of their first save
 * (the order the stock adapter gives through its in-memory cache, and the one automerge-repo's storage acceptance
 * suite expects), then any other chunk on disk (written by an earlier run) sorted by key. Unlike the stock adapter it
 * keeps no chunk bytes in memory, only one sequence number per saved key (dropped on `remove`/`removeRange`).
 */
export class AtomicNodeFSStorageAdapter extends NodeFSStorageAdapter {
  readonly #base: string
  /** First-save order of the keys this instance saved and has not removed. */
  readonly #order = new Map<string, number>()
  #seq = 0
  /** Directories this instance made (or found), less those a `removeRange` took: a save makes each only once. */
  readonly #dirs = new Set<string>()

  constructor(baseDirectory: string) {
    super(baseDirectory)
    this.#base = baseDirectory
  }

  override async save(key: StorageKey, data: Uint8Array): Promise<void> {
    const k = keyString(key)
    if (!this.#order.has(k)) this.#order.set(k, this.#seq++) // only an ordering hint: listings come from the disk
    const file = filePath(this.#base, key)
    const tmpDir = join(this.#base, TEMP_DIR)
    const tmp = join(tmpDir, `${randomBytes(8).toString('hex')}.tmp`)
    const dirs = [tmpDir, dirname(file)]
    try {
      if (data.byteLength <= SYNC_WRITE_MAX_BYTES)
        await this.#inDirs(dirs, () => {
          writeFileSync(tmp, data)
          renameSync(tmp, file)
          return Promise.resolve()
        })
      else {
        await this.#inDirs(dirs, () => writeFile(tmp, data))
        await this.#inDirs(dirs, () => rename(tmp, file))
      }
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined)
      throw err
    }
  }

  /**
   * Runs `write` once the directories exist, making each only the first time (two `mkdir` calls per save were a
   * measurable part of a bulk import). A directory removed behind this instance's back (ENOENT) is made again, once.
   */
  async #inDirs(dirs: string[], write: () => Promise<void>): Promise<void> {
    for (const d of dirs) {
      if (this.#dirs.has(d)) continue
      await mkdir(d, { recursive: true })
      this.#dirs.add(d)
    }
    try {
      await write()
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      for (const d of dirs) {
        this.#dirs.delete(d)
        await mkdir(d, { recursive: true })
        this.#dirs.add(d)
      }
      await write()
    }
  }

  override async load(key: StorageKey): Promise<Uint8Array | undefined> {
    const data = await super.load(key)
    return data && data.byteLength > 0 ? data : undefined
  }

  override remove(key: StorageKey): Promise<void> {
    this.#order.delete(keyString(key))
    // a file only (its directory stays), synchronously: a compaction removes its incremental chunks one by one
    try {
      unlinkSync(filePath(this.#base, key))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        return Promise.reject(err instanceof Error ? err : new Error(String(err)))
    }
    return Promise.resolve()
  }

  override async removeRange(prefix: StorageKey): Promise<void> {
    for (const k of this.#order.keys()) if (under(k, prefix)) this.#order.delete(k)
    const dir = filePath(this.#base, prefix)
    for (const d of this.#dirs) if (d === dir || d.startsWith(dir + sep)) this.#dirs.delete(d) // removed with it
    await super.removeRange(prefix)
  }

  override async loadRange(prefix: StorageKey): Promise<Chunk[]> {
    const chunks = (await super.loadRange(prefix)).filter(
      (c) => c.data !== undefined && c.data.byteLength > 0,
    )
    const ranked = chunks.map((chunk) => {
      const text = keyString(chunk.key)
      return { chunk, text, rank: this.#order.get(text) ?? Number.MAX_SAFE_INTEGER }
    })
    ranked.sort((a, b) => a.rank - b.rank || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0))
    return ranked.map((r) => r.chunk)
  }
}
