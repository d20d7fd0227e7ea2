import * as A from '@automerge/automerge'
import {
  interpretAsDocumentId,
  stringifyAutomergeUrl,
  type AutomergeUrl,
  type DocHandle,
  type DocumentId,
  type Repo,
} from '@automerge/automerge-repo'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'
import { findDoc } from './find.js'
import { detachSaveBeforeUnload } from './pinned/index.js'
import { ARCHIVE_SHARDS, shardOf, type ArchiveDoc, type ArchiveEntry, type ClinicRootDoc } from './layout.js'

/** The actor of every archive document's first change: the same bytes on every device (see `initialArchive`). */
const ARCHIVE_ACTOR = bytesToHex(sha256(utf8ToBytes('clinic-mesh/archive/1')).slice(0, 16))

/** The id of archive document `n` of `year`: 16 bytes of SHA-256 over the clinic id, 'archive', the year and `n`. */
export function archiveDocumentId(clinic: string, year: number, n: number): DocumentId {
  const bytes = sha256(utf8ToBytes(`${clinic}\u0000archive\u0000${year}\u0000${n}`)).slice(0, 16)
  return interpretAsDocumentId(bytes as Parameters<typeof interpretAsDocumentId>[0])
}

/**
 * The first change of an archive document, identical on every device (fixed actor, time 0): two devices archiving
 * the same year at once create the same document with the same history, and their visits merge into it.
 */
export function initialArchive(year: number, n: number): Uint8Array {
  const doc = A.change(A.init<ArchiveDoc>({ actor: ARCHIVE_ACTOR }), { time: 0 }, (d) => {
    d.layout = 'archive/1'
    d.year = year
    d.shard = n
    d.visits = {}
  })
  return A.save(doc)
}

export interface ArchiveShelfInit {
  /**
   * Calendar years of archives this device holds, counted back from this one: 1 = this year only (no archive: an
   * archive holds years before this one), 2 = this and last year, ...; undefined = every year (the default).
   */
  historyYears?: number
  /** The device clock (tests). */
  now?: () => Date
}

/** Where an archived visit is, as far as this device can tell without holding it. */
export type ArchiveWhereabouts = 'here' | 'fetching' | 'elsewhere'

/**
 * The clinic's archive documents as one device sees them (issue 17 #3, history window): which years it holds, which
 * documents of the layout are archives (from the years the root lists and the derived ids: never from a document's
 * own content), opening one from storage or a peer, and creating one for writing the same way on every device.
 */
export class ArchiveShelf {
  readonly #repo: Repo
  readonly #root: DocHandle<ClinicRootDoc>
  readonly #init: ArchiveShelfInit
  /** Archive documents opened (loading or local), by id: the share policy announces only those that are local. */
  readonly #opening = new Map<DocumentId, Promise<DocHandle<ArchiveDoc>>>()
  readonly #local = new Set<DocumentId>()
  /** Archives being saved and dropped from memory after a pull (`pullWindow` with `release`). */
  readonly #releasing = new Map<DocumentId, Promise<void>>()
  /** Archives this device writes to (an archiving pass): never released. */
  readonly #written = new Set<DocumentId>()
  #places = new Map<DocumentId, { year: number; n: number }>()
  #placesFrom = ''

  constructor(repo: Repo, root: DocHandle<ClinicRootDoc>, init: ArchiveShelfInit = {}) {
    this.#repo = repo
    this.#root = root
    this.#init = init
  }

  get clinic(): string {
    return this.#root.doc().clinic
  }

  /** The first year this device holds (0: every year). */
  get firstYear(): number {
    const years = this.#init.historyYears
    return years === undefined ? 0 : this.#now().getUTCFullYear() - years + 1
  }

  holds(year: number): boolean {
    return year >= this.firstYear
  }

  /** The years the root lists archives for (well-formed ones only), oldest first. */
  years(): number[] {
    return Object.keys(this.#root.doc().archives ?? {})
      .map(Number)
      .filter((y) => Number.isInteger(y) && y > 1900 && y < 3000)
      .sort((a, b) => a - b)
  }

  urlOf(year: number, n: number): AutomergeUrl {
    return stringifyAutomergeUrl({ documentId: archiveDocumentId(this.clinic, year, n) })
  }

  /** Year and number of an archive document of this clinic, if `id` is one. */
  placeOf(id: DocumentId): { year: number; n: number } | undefined {
    const years = this.years()
    const stamp = years.join(',')
    if (stamp !== this.#placesFrom) {
      this.#placesFrom = stamp
      this.#places = new Map()
      for (const year of years)
        for (let n = 0; n < ARCHIVE_SHARDS; n++)
          this.#places.set(archiveDocumentId(this.clinic, year, n), { year, n })
    }
    return this.#places.get(id)
  }

  /** Whether archive document `id` is local (in memory). */
  isLocal(id: DocumentId): boolean {
    return this.#local.has(id)
  }

  /** Held here, being fetched, or neither (on a peer holding the year, or the relay). */
  whereabouts(year: number, patientId: string): ArchiveWhereabouts {
    const id = archiveDocumentId(this.clinic, year, shardOf(patientId, ARCHIVE_SHARDS))
    if (this.#local.has(id)) return 'here'
    return this.#opening.has(id) ? 'fetching' : 'elsewhere'
  }

  /** Peers that said (root `archiveFrom`) they hold archives of `year`. */
  holdersOf(year: number): string[] {
    return Object.entries(this.#root.doc().archiveFrom ?? {})
      .filter(([, from]) => typeof from === 'number' && from <= year)
      .map(([peer]) => peer)
  }

  /** Archive document `n` of `year`, from memory, storage or a peer; bounded by `signal` (then tried anew next time). */
  open(year: number, n: number, signal?: AbortSignal): Promise<DocHandle<ArchiveDoc>> {
    const id = archiveDocumentId(this.clinic, year, n)
    let p = this.#opening.get(id)
    if (!p) {
      // the find starts once this open is recorded: the share policy, asked while it requests, must know of it (and
      // once a release of it finished: the repo then loads it from storage anew)
      const released = this.#releasing.get(id) ?? Promise.resolve()
      p = released
        .then(() => findDoc<ArchiveDoc>(this.#repo, id, signal ? { signal } : {}))
        .then((h) => {
          this.#local.add(id)
          return h
        })
      this.#opening.set(id, p)
      p.catch(() => this.#opening.delete(id))
    }
    return p
  }

  /** The archived visit `encounterId` of a patient in `year`'s archive (fetched if not local), if it is there. */
  async visit(
    year: number,
    patientId: string,
    encounterId: string,
    signal?: AbortSignal,
  ): Promise<ArchiveEntry | undefined> {
    const h = await this.open(year, shardOf(patientId, ARCHIVE_SHARDS), signal)
    const entry = h.doc().visits[encounterId]
    return entry && entry.patientId.val === patientId ? entry : undefined
  }

  /**
   * Archive document `n` of `year` for writing: the same first change on every device (`initialArchive`), merged
   * with what this device's storage or memory holds of it; the root lists the year (every device writes the same
   * list, so concurrent writes of it converge to one value).
   */
  async forWriting(year: number, n: number): Promise<DocHandle<ArchiveDoc>> {
    const id = archiveDocumentId(this.clinic, year, n)
    this.#written.add(id)
    const known = this.#opening.get(id)
    if (known && this.#local.has(id)) return known
    const p = (async (): Promise<DocHandle<ArchiveDoc>> => {
      await this.#releasing.get(id)
      const cached = this.#repo.handles[id] as DocHandle<ArchiveDoc> | undefined
      if (cached?.isReady()) return cached
      // released to storage: the repo loads it again (it was saved before it was dropped)
      if (cached?.state === 'unloaded') return findDoc<ArchiveDoc>(this.#repo, id)
      const stored = cached ? undefined : await this.#repo.storageSubsystem?.loadDoc<ArchiveDoc>(id)
      // in one turn with the import: the root lists the year (so the share policy knows the id for an archive) and
      // the document counts as local (so it is announced only to peers holding the year). Otherwise the repo, asking
      // the policy a turn later, could find an unlisted id (announced to everyone, as any other document) or one
      // still "being fetched" (asked of any peer): a windowed tablet would receive every archive written.
      this.list(year)
      const h = this.#repo.import<ArchiveDoc>(initialArchive(year, n), { docId: id })
      this.#local.add(id)
      if (stored) {
        const bytes = A.save(stored)
        h.update((d) => A.loadIncremental(d, bytes))
      }
      return h
    })()
    this.#opening.set(id, p)
    const h = await p
    this.#local.add(id)
    this.list(year)
    return h
  }

  /** Lists `year`'s archive documents in the root if it does not (yet, or after a concurrent write lost it). */
  list(year: number): void {
    const urls = Array.from({ length: ARCHIVE_SHARDS }, (_, n) => this.urlOf(year, n))
    const listed = this.#root.doc().archives?.[String(year)]
    if (listed && listed.length === urls.length && listed.every((u, i) => u === urls[i])) return
    this.#root.change((d) => {
      if (!d.archives) d.archives = {}
      d.archives[String(year)] = urls
    })
  }

  /**
   * Fetches every archive document of the years this device holds, `concurrency` at a time, then says so in the root
   * (`archiveFrom`): from then on peers announce those years to it. Resolves with how many documents it holds.
   */
  async pullWindow(
    concurrency = 4,
    options: { signal?: AbortSignal; release?: boolean } = {},
  ): Promise<number> {
    const wanted: [number, number][] = []
    for (const year of this.years().filter((y) => this.holds(y)))
      for (let n = 0; n < ARCHIVE_SHARDS; n++) wanted.push([year, n])
    // with `release` (and storage), each archive goes to disk and leaves memory once local: a tablet needs them on its
    // disk, not in its heap (a request or a peer's change loads one again)
    const release = options.release === true && this.#repo.storageSubsystem !== undefined
    const releases: Promise<void>[] = []
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < wanted.length) {
        const [year, n] = wanted[next++]!
        const h = await this.open(year, n, options.signal)
        if (release) releases.push(this.#release(h))
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, wanted.length) }, worker))
    await Promise.all(releases)
    const me = this.#repo.peerId
    if (this.#root.doc().archiveFrom?.[me] !== this.firstYear) {
      this.#root.change((d) => {
        if (!d.archiveFrom) d.archiveFrom = {}
        d.archiveFrom[me] = this.firstYear
      })
      this.#repo.shareConfigChanged()
    }
    return wanted.length
  }

  /**
   * Announce policy for archive documents (undefined: `id` is not one). automerge-repo asks it before requesting a
   * document too: one this device is fetching may be asked of any peer (the relay included). A local archive of year
   * Y is announced to a peer that said it holds Y (root `archiveFrom`); anyone else (a windowed tablet, the relay)
   * gets it when it asks for it.
   */
  sharePolicy(peer: string, id: DocumentId): boolean | undefined {
    const place = this.placeOf(id)
    if (!place) return undefined
    if (!this.#opening.has(id)) return false
    // being fetched: ask any peer. A document the repo already holds ready counts as local even before this shelf's
    // open resolved (the repo asks this policy as it registers the handle): never pushed to a peer outside its year.
    const ready = (this.#repo.handles[id] as DocHandle<ArchiveDoc> | undefined)?.isReady() === true
    if (!this.#local.has(id) && !ready) return true
    const from = this.#root.doc().archiveFrom?.[peer]
    return typeof from === 'number' && from <= place.year
  }

  /** The archive documents this device has local (for a repair pass over what it archived or received). */
  localDocs(): Promise<DocHandle<ArchiveDoc>[]> {
    return Promise.all([...this.#local].map((id) => this.#opening.get(id)!))
  }

  /**
   * Saves an archive and drops it from memory (as a chart bucket's release: after the repo's 100 ms sync throttle has
   * sent what it had, and with the unload guard, see pinned/unload-guard.ts). Not while a write holds it.
   */
  async #release(h: DocHandle<ArchiveDoc>): Promise<void> {
    const id = h.documentId
    if (this.#written.has(id)) return
    const done = (async (): Promise<void> => {
      await this.#repo.flush([id])
      await new Promise((r) => setTimeout(r, 150))
      await this.#repo.flush([id])
      if (this.#written.has(id)) return
      this.#local.delete(id)
      this.#opening.delete(id)
      detachSaveBeforeUnload(h)
      await this.#repo.removeFromCache(id)
    })().finally(() => this.#releasing.delete(id))
    this.#releasing.set(id, done)
    return done
  }

  #now(): Date {
    return this.#init.now?.() ?? new Date()
  }
}
