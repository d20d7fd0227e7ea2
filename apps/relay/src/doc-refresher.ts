import * as A from '@automerge/automerge'
import type { DocumentId, Repo } from '@automerge/automerge-repo'
import type { Logger } from './logger.js'

/** How the refresher reads storage: every chunk of a document, or one chunk by its key. */
export interface ChunkSource {
  loadChunks(documentId: string): Promise<Uint8Array[]>
  loadChunk(key: readonly string[]): Promise<Uint8Array | undefined>
  /** A chunk another instance wrote, whose changes arrived with its notice: it is in storage. */
  noteStored?(key: readonly string[]): void
}

/** What is queued for one document: every chunk, or the chunks named and the changes that came with notices. */
interface Wanted {
  all: boolean
  keys: Map<string, readonly string[]>
  changes: Uint8Array[]
}

/**
 * Brings the repo's open documents up to what storage holds when another relay instance wrote them (it announced
 * the document id, and the key of the chunk it wrote): the chunk is merged into the handle, and the repo syncs the
 * news to the devices connected here (a handle still looked for becomes ready with them). A notice without a key, a
 * chunk gone meanwhile (compacted into a snapshot) and a catch-up read every chunk of the document. One not open here
 * is loaded when asked for. Calls for one document coalesce: at most one read under way, the rest queued into one.
 */
export class DocRefresher {
  readonly #repo: Repo
  readonly #source: ChunkSource
  readonly #log: Logger
  readonly #running = new Map<string, Promise<void>>()
  readonly #queued = new Map<string, Wanted>()

  constructor(repo: Repo, source: ChunkSource, log: Logger) {
    this.#repo = repo
    this.#source = source
    this.#log = log
  }

  /**
   * Another instance wrote the document: `chunk` is the key of the chunk it wrote (none: read them all), `changes`
   * what that write added, when the notice carried it (merged as is: nothing read).
   */
  refresh(documentId: string, chunk?: readonly string[], changes?: Uint8Array): void {
    if (!this.#repo.handles[documentId as DocumentId]) return
    const wanted: Wanted = this.#queued.get(documentId) ?? { all: false, keys: new Map(), changes: [] }
    if (chunk && chunk[0] === documentId) {
      if (changes) {
        wanted.changes.push(changes)
        this.#source.noteStored?.(chunk)
      } else wanted.keys.set(chunk.join('\u0000'), chunk)
    } else wanted.all = true
    this.#queued.set(documentId, wanted)
    if (!this.#running.has(documentId)) this.#next(documentId)
  }

  /** Every open document (notifications may have been missed). */
  refreshAll(): void {
    for (const id of Object.keys(this.#repo.handles)) this.refresh(id)
  }

  /** Wait for the reads under way (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running.values()])
  }

  #next(documentId: string): void {
    const wanted = this.#queued.get(documentId)
    if (!wanted) return
    this.#queued.delete(documentId)
    const run = this.#reload(documentId, wanted)
      .catch((err: unknown) =>
        this.#log('refresh-failed', { doc: documentId, error: err instanceof Error ? err.name : 'unknown' }),
      )
      .finally(() => {
        this.#running.delete(documentId)
        this.#next(documentId)
      })
    this.#running.set(documentId, run)
  }

  async #reload(documentId: string, wanted: Wanted): Promise<void> {
    const handle = this.#repo.handles[documentId as DocumentId]
    if (!handle) return
    // the repo is reading storage: it will put what it read in place of the document, perhaps older than what is
    // stored now, so merge after that
    if (handle.state === 'loading') await handle.whenReady(['ready', 'requesting', 'unavailable'])
    // still being looked for (asked of the devices): what another instance stored ends the search
    if (!handle.inState(['requesting', 'unavailable', 'ready'])) return
    const all = wanted.all || !handle.isReady()
    const chunks = all
      ? await this.#source.loadChunks(documentId)
      : [...wanted.changes, ...(await this.#some(documentId, wanted))]
    if (chunks.length === 0) return
    let gap = false
    handle.update((doc) => {
      let d = doc
      for (const chunk of chunks) d = A.loadIncremental(d, chunk)
      // changes whose predecessors never reached this instance (a notice missed): read every chunk
      gap = !all && A.getMissingDeps(d, []).length > 0
      return d
    })
    if (gap) this.refresh(documentId)
    if (!handle.isReady()) handle.doneLoading()
  }

  /** The chunks named; all of the document's if one is gone (its content is in a snapshot written since). */
  async #some(documentId: string, wanted: Wanted): Promise<Uint8Array[]> {
    const keys = [...wanted.keys.values()]
    const read = await Promise.all(keys.map((k) => this.#source.loadChunk(k)))
    if (read.every((c): c is Uint8Array => c !== undefined)) return read
    return this.#source.loadChunks(documentId)
  }
}
