import * as A from '@automerge/automerge'
import type { DocumentId, Repo } from '@automerge/automerge-repo'
import type { Logger } from './logger.js'

/**
 * Brings the repo's open documents up to what storage holds when another relay instance wrote them (it announced
 * the document id): the stored chunks are merged into the handle, and the repo syncs the news to the devices
 * connected here (a handle still looked for becomes ready with them). One not open here is loaded when asked for. Calls
 * for one document coalesce: at most one read under way and one more queued.
 */
export class DocRefresher {
  readonly #repo: Repo
  readonly #load: (documentId: string) => Promise<Uint8Array[]>
  readonly #log: Logger
  readonly #running = new Map<string, Promise<void>>()
  readonly #queued = new Set<string>()

  constructor(repo: Repo, load: (documentId: string) => Promise<Uint8Array[]>, log: Logger) {
    this.#repo = repo
    this.#load = load
    this.#log = log
  }

  refresh(documentId: string): void {
    if (!this.#repo.handles[documentId as DocumentId]) return
    if (this.#running.has(documentId)) {
      this.#queued.add(documentId)
      return
    }
    const run = this.#reload(documentId)
      .catch((err: unknown) =>
        this.#log('refresh-failed', { doc: documentId, error: err instanceof Error ? err.name : 'unknown' }),
      )
      .finally(() => {
        this.#running.delete(documentId)
        if (this.#queued.delete(documentId)) this.refresh(documentId)
      })
    this.#running.set(documentId, run)
  }

  /** Every open document (notifications may have been missed). */
  refreshAll(): void {
    for (const id of Object.keys(this.#repo.handles)) this.refresh(id)
  }

  /** Wait for the reads under way (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running.values()])
  }

  async #reload(documentId: string): Promise<void> {
    const handle = this.#repo.handles[documentId as DocumentId]
    if (!handle) return
    // the repo is reading storage: it will put what it read in place of the document, perhaps older than what is
    // stored now, so merge after that
    if (handle.state === 'loading') await handle.whenReady(['ready', 'requesting', 'unavailable'])
    // still being looked for (asked of the devices): what another instance stored ends the search
    if (!handle.inState(['requesting', 'unavailable', 'ready'])) return
    const chunks = await this.#load(documentId)
    if (chunks.length === 0) return
    handle.update((doc) => {
      let d = doc
      for (const chunk of chunks) d = A.loadIncremental(d, chunk)
      return d
    })
    if (!handle.isReady()) handle.doneLoading()
  }
}
