import type { DocHandle, DocHandleChangePayload } from '@automerge/automerge-repo'
import type { Doc } from '@automerge/automerge'
import type { BucketDoc } from './bucket-doc.js'
import { DeferredRepairs } from './deferred-repairs.js'
import { releaseLatestPatches } from './pinned/release-patches.js'

/**
 * The store's side of a chart bucket's change events: its own writes (which refresh their summaries themselves) told
 * apart from remote edits, whose summaries are repaired — at once on a browser (`nodeWrites` false: its own index
 * only), held back by `DeferredRepairs` on a node (the author's own summary usually arrives within that moment).
 */
export class SummaryRepairs<B extends BucketDoc> {
  /** >0 while the store itself is changing a bucket (its change events are not remote edits to repair). */
  #local = 0
  readonly #nodeWrites: boolean
  readonly #refresh: (doc: Doc<B>, patientId: string) => void
  readonly #deferred: DeferredRepairs<DocHandle<B>>

  /** `refresh` rewrites one patient's derived values from its bucket (a no-op where nothing differs). */
  constructor(delayMs: number, nodeWrites: boolean, refresh: (doc: Doc<B>, patientId: string) => void) {
    this.#nodeWrites = nodeWrites
    this.#refresh = refresh
    this.#deferred = new DeferredRepairs(delayMs, (edits) => {
      for (const [id, h] of edits) if (h.isReady()) refresh(h.doc(), id) // released since: holders repair
    })
  }

  /** Runs `fn` (a change of a bucket by the store itself): its change event is not a remote edit. */
  local<T>(fn: () => T): T {
    this.#local++
    try {
      return fn()
    } finally {
      this.#local--
    }
  }

  /** How many patients' repairs are held back. */
  get pending(): number {
    return this.#deferred.size
  }

  /** Resolves once no repair is held back (those pending have run). */
  settled(): Promise<void> {
    return this.#deferred.settled()
  }

  onBucketChange({ handle, doc, patches }: DocHandleChangePayload<B>): void {
    releaseLatestPatches(doc) // the handle has computed this event's patches; nothing reads them again
    // the store's own writes refresh their summaries themselves (batched in changeMany); automerge-repo tags every
    // change event `source: 'change'`, remote ones included, so the store tracks its own writes instead
    if (this.#local > 0) return
    const touched = new Set<string>()
    for (const p of patches)
      if (p.path[0] === 'charts' && typeof p.path[1] === 'string') touched.add(p.path[1])
    // a browser's summaries go to its own index at once; a node's into the shards, once the author's had a moment
    if (!this.#nodeWrites) for (const id of touched) this.#refresh(doc, id)
    else for (const id of touched) this.#deferred.add(id, handle)
  }
}
