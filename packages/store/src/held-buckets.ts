import type {
  AutomergeUrl,
  DocHandle,
  DocHandleChangePayload,
  DocumentId,
  Repo,
} from '@automerge/automerge-repo'
import { parseAutomergeUrl } from '@automerge/automerge-repo'
import type { BucketDoc } from './bucket-doc.js'
import { BucketReleases } from './bucket-release.js'
import { LayoutError } from './errors.js'
import { documentIdOf } from './layout.js'
import { findDoc } from './find.js'
import { releaseAllPatches } from './pinned/release-patches.js'

/**
 * The chart buckets a store holds in memory: opened for use, pulled by `loadAllCharts`, or adopted when the repo
 * loads one by itself (a peer or a browser syncs it: `doc-metrics` `doc-loaded` fires before its first remote change
 * lands). Every held bucket's remote changes reach `onChange` (the summary repair); a loading handle's own `change`
 * event does not. Idle ones go back to storage (`releaseIdle`).
 */
export class HeldBuckets<B extends BucketDoc> {
  readonly #repo: Repo
  readonly #urls: () => AutomergeUrl[]
  readonly #onChange: (payload: DocHandleChangePayload<B>) => void
  readonly #held = new Map<number, Promise<DocHandle<B>>>()
  readonly #numbers = new Map<DocumentId, number>()
  /** Buckets held for a write about to come (`hold`), with how many holds each: never released while held. */
  readonly #holds = new Map<number, number>()
  /** Buckets this device has opened, adopted or pulled (the share policy announces only those). */
  readonly opened = new Set<DocumentId>()
  readonly releases: BucketReleases

  constructor(
    repo: Repo,
    urls: () => AutomergeUrl[],
    onChange: (payload: DocHandleChangePayload<B>) => void,
  ) {
    this.#repo = repo
    this.#urls = urls
    this.#onChange = onChange
    this.releases = new BucketReleases(repo)
    repo.on('doc-metrics', (m) => {
      if (m.type !== 'doc-loaded') return
      const i = this.numberOf(m.documentId)
      const h = repo.handles[m.documentId] as DocHandle<B> | undefined
      if (i !== undefined && h && !this.#held.has(i)) this.#adopt(i, h)
    })
  }

  /**
   * Adopts the chart buckets the repo already has a handle for (created by this device when it founded the clinic,
   * or found before the store opened): the repo will not load them again, so no `doc-loaded` would announce them,
   * and their remote changes (a browser's registration) would never reach the summaries.
   */
  adoptPresent(): void {
    for (const [id, h] of Object.entries(this.#repo.handles)) {
      const i = this.numberOf(id as DocumentId)
      if (i !== undefined && !this.#held.has(i)) this.#adopt(i, h as DocHandle<B>)
    }
  }

  /** The bucket number of a document of this layout, if it is a chart bucket. */
  numberOf(id: DocumentId): number | undefined {
    if (this.#numbers.size === 0)
      this.#urls().forEach((u, i) => {
        const d = documentIdOf(u) // a lookup: no checksum (`open` finds the URL itself, which checks it)
        if (d !== undefined && !this.#numbers.has(d)) this.#numbers.set(d, i)
      })
    return this.#numbers.get(id)
  }

  get size(): number {
    return this.#held.size
  }

  has(i: number): boolean {
    return this.#held.has(i)
  }

  /** Bucket `i`, fetched from storage or peers on first use. `use` marks it used now (for `releaseIdle`). */
  open(i: number, use = false): Promise<DocHandle<B>> {
    const url = this.#urls()[i]
    if (!url) return Promise.reject(new LayoutError(`no chart bucket ${i}`))
    const id = parseAutomergeUrl(url).documentId
    if (use) {
      this.releases.keep(i)
      this.releases.changed(id)
    }
    let p = this.#held.get(i)
    if (!p) {
      this.opened.add(id)
      // One find per URL at a time: concurrent finds of one URL can stall (automerge-repo #273).
      p = this.releases
        .settled(i)
        .then(() => findDoc<B>(this.#repo, url))
        .then((h) => {
          this.#listen(h)
          return this.#ready(h)
        })
      this.#held.set(i, p)
    }
    return p
  }

  /** Saves bucket `i` and drops it from memory (see BucketReleases.release), unless it is held (`hold`). */
  release(i: number, h: DocHandle<B>): Promise<void> {
    if (this.#holds.has(i)) return Promise.resolve()
    return this.releases.release(i, h, () => this.#held.delete(i))
  }

  /**
   * Opens bucket `i` and keeps it in memory, whatever `releaseIdle` says, until `unhold` (holds count): a write known
   * to come (the desk's next registration) finds it loaded. Resolves once it is.
   */
  hold(i: number): Promise<DocHandle<B>> {
    this.#holds.set(i, (this.#holds.get(i) ?? 0) + 1)
    return this.open(i, true)
  }

  /** Ends one `hold` of bucket `i`; the bucket then goes the way of any other (idle for `idleMs`: released). */
  unhold(i: number): void {
    const n = this.#holds.get(i) ?? 0
    if (n > 1) this.#holds.set(i, n - 1)
    else this.#holds.delete(i)
  }

  /**
   * Releases every held bucket neither used nor changed for `idleMs` to storage (a device node keeps only what it is
   * working on: issue 17's 250 MB). A released bucket opens again from storage on its next use or sync.
   */
  async releaseIdle(idleMs: number): Promise<number> {
    if (!this.#repo.storageSubsystem) return 0
    const idle: Promise<void>[] = []
    for (const [i, p] of this.#held) {
      const url = this.#urls()[i]
      const id = url && parseAutomergeUrl(url).documentId
      if (!id || this.#holds.has(i) || this.releases.releasing(i) || !this.releases.idleFor(id, idleMs))
        continue
      if (!this.#repo.handles[id]?.isReady()) continue
      idle.push(p.then((h) => this.release(i, h)))
    }
    await Promise.all(idle)
    return idle.length
  }

  #adopt(i: number, h: DocHandle<B>): void {
    this.opened.add(h.documentId)
    this.#listen(h)
    this.#held.set(
      i,
      h.whenReady().then(() => this.#ready(h)),
    )
  }

  #listen(h: DocHandle<B>): void {
    h.on('change', (payload) => {
      this.releases.changed(h.documentId)
      if (h.isReady()) this.#onChange(payload) // not the load itself (a loading handle is not ready yet)
    })
  }

  #ready(h: DocHandle<B>): DocHandle<B> {
    releaseAllPatches(h.doc())
    this.releases.changed(h.documentId)
    return h
  }
}
