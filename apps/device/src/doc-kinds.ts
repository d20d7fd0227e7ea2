import {
  parseAutomergeUrl,
  type AutomergeUrl,
  type DocHandle,
  type DocumentId,
} from '@automerge/automerge-repo'
import type { ClinicDirectoryDoc } from '@clinic-mesh/contracts'
import type { DocKind } from '@clinic-mesh/security'
import type { ClinicStore } from '@clinic-mesh/store'

/**
 * What each document of the clinic is, from what this device node knows itself: its directory and records layout.
 * Never from a document's own content (its writer controls that). A document the node cannot place is unknown,
 * and a browser may neither read nor write it.
 */
export class DocKinds {
  readonly #dir: DocHandle<ClinicDirectoryDoc>
  readonly #store: ClinicStore<{ charts: Record<string, unknown> }>
  #map = new Map<DocumentId, DocKind>()
  #builtFrom = ''

  constructor(dir: DocHandle<ClinicDirectoryDoc>, store: ClinicStore<{ charts: Record<string, unknown> }>) {
    this.#dir = dir
    this.#store = store
  }

  kindOf(documentId: DocumentId): DocKind | undefined {
    const known = this.#map.get(documentId)
    if (known) return known
    // archive documents: ids derived from the clinic, the years the root lists and a number (store's ArchiveShelf)
    if (this.#store.archives.placeOf(documentId)) return 'archive'
    // today documents: ids derived from the clinic and the day (store's TodayDocs), yesterday to tomorrow here
    if (this.#store.today.placeOf(documentId)) return 'today'
    // the directory or the layout may have grown (a new ledger log, a new device's audit chain): rebuild once per change
    const stamp = `${this.#dir.heads()?.join(',') ?? ''}|${this.#store.layout.chartBuckets.length}`
    if (stamp === this.#builtFrom) return undefined
    this.#builtFrom = stamp
    this.#map = this.#build()
    return this.#map.get(documentId)
  }

  #build(): Map<DocumentId, DocKind> {
    const m = new Map<DocumentId, DocKind>()
    const add = (url: string | undefined, kind: DocKind): void => {
      if (!url) return
      try {
        m.set(parseAutomergeUrl(url as AutomergeUrl).documentId, kind)
      } catch {
        // a malformed URL in the directory names nothing
      }
    }
    const d = this.#dir.doc()
    add(this.#dir.url, 'directory')
    add(d.recordsRoot, 'records-root')
    const layout = this.#store.layout
    for (const u of layout.indexShards) add(u, 'index-shard')
    for (const u of layout.chartBuckets) add(u, 'chart-bucket')
    for (const periods of Object.values(d.ledgerLogs ?? {}))
      for (const u of Object.values(periods ?? {})) add(u, 'ledger-log')
    add(d.settlement?.inventory, 'settled-inventory')
    add(d.settlement?.conflicts, 'conflict-queue')
    add(d.membership, 'membership')
    add(d.users, 'users')
    for (const u of Object.values(d.audit ?? {})) add(u, 'audit')
    return m
  }
}
