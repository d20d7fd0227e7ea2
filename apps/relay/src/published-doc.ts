import * as A from '@automerge/automerge'
import type { DocHandle } from '@automerge/automerge-repo'
import type { PublishedSource } from './clinic-settlement.js'
import type { PublishedDoc } from './settlement-store.js'

/** How the settlement publisher reads and changes a document only the relay writes. */
export interface DocWriter<T> {
  doc(): T
  change(fn: A.ChangeFn<T>): void
}

/** One relay on its files: change the repo's document at once (the repo saves it, peers get it by sync). */
export class LiveDoc<T> implements DocWriter<T> {
  readonly #handle: DocHandle<T>
  constructor(handle: DocHandle<T>) {
    this.#handle = handle
  }
  doc(): T {
    return this.#handle.doc()
  }
  change(fn: A.ChangeFn<T>): void {
    this.#handle.change(fn)
  }
}

/**
 * Instances sharing a database: changes go to a draft copy (its own actor); the draft's full state is written with
 * the next checkpoint in the settler's fenced transaction, and only once that committed is it merged into the repo's
 * document, whence peers get it by sync. An instance that lost its lease never shows a device what it settled.
 */
export class DraftDoc<T> implements DocWriter<T> {
  readonly #handle: DocHandle<T>
  #draft: A.Doc<T>
  #version = 0
  #savedVersion = 0

  /** `stored`: the document's chunks in storage, newer than the repo's copy when another instance wrote last. */
  constructor(handle: DocHandle<T>, stored: readonly Uint8Array[]) {
    this.#handle = handle
    let d = A.clone(handle.doc())
    for (const chunk of stored) d = A.loadIncremental(d, chunk)
    this.#draft = d
    // written once with the first checkpoint (a new document, or what storage had and the repo did not)
    this.#version = 1
  }

  get documentId(): string {
    return this.#handle.documentId
  }

  doc(): T {
    return this.#draft
  }

  change(fn: A.ChangeFn<T>): void {
    this.#draft = A.change(this.#draft, fn)
    this.#version++
  }

  /** The draft's full state if it changed since the last committed write. */
  pending(): { doc: PublishedDoc; version: number } | null {
    if (this.#version === this.#savedVersion) return null
    const bytes = A.save(this.#draft)
    // the repo's document merges only the changes it lacks (not the whole history again at every round)
    let delta = bytes
    try {
      delta = A.saveSince(this.#draft, A.getHeads(this.#handle.doc()))
    } catch {
      // the repo's document has a change the draft has not (never expected): merge the full state
    }
    return { doc: { documentId: this.documentId, bytes, delta }, version: this.#version }
  }

  /** The write of `version` committed: merge it into the repo's document. */
  committed(doc: PublishedDoc, version: number): void {
    this.#savedVersion = Math.max(this.#savedVersion, version)
    this.#handle.update((d) => A.loadIncremental(d, doc.delta ?? doc.bytes))
  }
}

/** The drafts of a clinic's published documents as the settlement's PublishedSource. */
export function draftSource(drafts: readonly DraftDoc<unknown>[]): PublishedSource {
  const versions = new Map<string, number>()
  return {
    pending: () =>
      drafts.flatMap((d) => {
        const p = d.pending()
        if (!p) return []
        versions.set(d.documentId, p.version)
        return [p.doc]
      }),
    committed: (docs) => {
      for (const doc of docs) {
        const d = drafts.find((x) => x.documentId === doc.documentId)
        d?.committed(doc, versions.get(doc.documentId) ?? 0)
      }
    },
  }
}
