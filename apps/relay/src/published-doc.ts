import * as A from '@automerge/automerge'
import type { DocHandle } from '@automerge/automerge-repo'
import type { PublishedSource } from './clinic-settlement.js'
import type { PublishedDoc } from './settlement-store.js'
import { FENCED_CHUNK } from './fenced-storage.js'

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
 * A string the relay publishes whole (the inventory's JSON state, a conflict's JSON), stored as one Automerge scalar
 * (`ImmutableString`), not as collaborative text: text costs an op per character, every round's new state was
 * thousands of ops kept in the document's history for good, and each load (a takeover's cold open), change and merge
 * paid for them. Readers see the same JSON: `ImmutableString` serialises as its string (`toJSON`), and devices and the
 * signature check read a JSON copy; the live value is read with `textOf`. Typed as the contract's `string`.
 */
export function scalar(s: string): string {
  return new A.ImmutableString(s) as unknown as string
}

/** A published string as the document holds it: a scalar (written since scalars) or text (before); else undefined. */
export function textOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v
  return A.isImmutableString(v) ? v.val : undefined
}

/** Incremental chunks are written until they add up to the last snapshot's size (at least this): then a snapshot. */
const MIN_SNAPSHOT_BYTES = 64 * 1024

/**
 * Instances sharing a database: changes go to a draft copy (its own actor); what changed is written with the next
 * checkpoint in the settler's fenced transaction, and only once that committed is it merged into the repo's document,
 * whence peers get it by sync. An instance that lost its lease never shows a device what it settled.
 *
 * What is written: the changes since the last committed write as an incremental chunk, and once those add up to the
 * last snapshot's size, a snapshot of the full state that replaces them (as automerge-repo compacts). A snapshot at
 * every round cost time and bytes in proportion to the document's whole history (one change per round): ~100 ms and
 * 145 KB per round after 2,000 rounds, against ~1 ms and < 1 KB for the changes alone.
 */
export class DraftDoc<T> implements DocWriter<T> {
  readonly #handle: DocHandle<T>
  #draft: A.Doc<T>
  #version = 0
  #savedVersion = 0
  /** the heads storage holds (as of the last committed write); undefined: unknown, the next write is a snapshot */
  #stored: A.Heads | undefined
  #snapshotBytes = 0
  #incrementalBytes = 0
  /** heads of each pending version, for `committed` */
  readonly #pendingHeads = new Map<number, A.Heads>()

  /**
   * `stored`: the document's chunks in storage, newer than the repo's copy when another instance wrote last.
   * `fromStored`: the repo's copy was made from exactly them (a cold open): nothing to write until the draft changes,
   * then only the changes (storage's largest chunk taken for its snapshot, the others for incremental chunks).
   */
  constructor(handle: DocHandle<T>, stored: readonly Uint8Array[], fromStored = false) {
    this.#handle = handle
    let d = A.clone(handle.doc())
    if (fromStored && stored.length > 0) {
      this.#draft = d
      this.#stored = A.getHeads(d)
      this.#snapshotBytes = Math.max(...stored.map((c) => c.length))
      this.#incrementalBytes = stored.reduce((n, c) => n + c.length, 0) - this.#snapshotBytes
      return
    }
    for (const chunk of stored) d = A.loadIncremental(d, chunk)
    this.#draft = d
    // written once with the first checkpoint, as a snapshot (a new document, or what storage had and the repo did not)
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

  /** What to write if the draft changed since the last committed write: its changes since then, or a snapshot. */
  pending(): { doc: PublishedDoc; version: number } | null {
    if (this.#version === this.#savedVersion) return null
    const heads = A.getHeads(this.#draft)
    this.#pendingHeads.set(this.#version, heads)
    // the repo's document merges only the changes it lacks (not the whole history again at every round)
    const delta = this.#since(A.getHeads(this.#handle.doc()))
    const changes = this.#stored && this.#since(this.#stored)
    const compact = Math.max(this.#snapshotBytes, MIN_SNAPSHOT_BYTES)
    const doc: PublishedDoc =
      changes && delta && this.#incrementalBytes + changes.length < compact
        ? {
            documentId: this.documentId,
            bytes: changes,
            delta,
            incremental: chunkName(heads),
          }
        : { documentId: this.documentId, bytes: A.save(this.#draft), ...(delta ? { delta } : {}) }
    return { doc, version: this.#version }
  }

  /** The write of `version` committed: merge it into the repo's document. */
  committed(doc: PublishedDoc, version: number): void {
    this.#savedVersion = Math.max(this.#savedVersion, version)
    const heads = this.#pendingHeads.get(version)
    for (const v of this.#pendingHeads.keys()) if (v <= version) this.#pendingHeads.delete(v)
    if (heads) this.#stored = heads
    if (doc.incremental === undefined) {
      this.#snapshotBytes = doc.bytes.length
      this.#incrementalBytes = 0
    } else this.#incrementalBytes += doc.bytes.length
    this.#handle.update((d) => A.loadIncremental(d, doc.delta ?? doc.bytes))
  }

  /** The draft's changes since `heads`; undefined when the draft lacks one of them (never expected). */
  #since(heads: A.Heads): Uint8Array | undefined {
    try {
      return A.saveSince(this.#draft, heads)
    } catch {
      return undefined
    }
  }
}

/** An incremental chunk's name: the fenced prefix and the heads it brings the document to. */
function chunkName(heads: A.Heads): string {
  return `${FENCED_CHUNK}-${[...heads].sort().join('').slice(0, 64)}`
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
