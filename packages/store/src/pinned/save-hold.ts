import { Repo, type DocumentId } from '@automerge/automerge-repo'
import type { Doc } from '@automerge/automerge'

/**
 * Holds back the storage saves of some documents for a while: a joining tablet's today buckets are saved once all of
 * them are local, not each ~100 ms after it lands, in the middle of the pull it competes with for the one JS thread
 * (automerge-repo saves a document on its `heads-changed`, throttled: `A.save` compresses the whole bucket, then the
 * storage adapter encrypts and writes it). Measured, bench P13's joiner: ~10 % of the CPU of pulling today's 40
 * buckets went to saving them.
 *
 * This wraps the repo's `storageSubsystem.saveDoc` (once per repo): while a document is held, a save of it waits and
 * only its latest document is saved when the hold ends; every waiting caller (the throttled save, `repo.flush`)
 * resolves then. A hold ends when its `release` is called, and at the latest after `maxMs` (a pull that never
 * completes leaves no save waiting, nor a `flush` or `shutdown` hanging). Nothing is dropped: the held document is
 * saved, and until then it is in memory as any document between two throttled saves is. Relies on automerge-repo's
 * save path going through `storageSubsystem.saveDoc`, pinned with the other hooks (`index.ts`): `pinned-hooks.test.ts`
 * fails when an upgrade changes it; if the method is missing, nothing is held.
 */

type SaveDoc = (documentId: DocumentId, doc: Doc<unknown>) => Promise<void>

interface Held {
  doc: Doc<unknown>
  waiting: { resolve: () => void; reject: (err: unknown) => void }[]
}

interface Holds {
  save: SaveDoc
  /** documents held, by how many holds name them */
  count: Map<DocumentId, number>
  /** the latest save asked of each held document */
  pending: Map<DocumentId, Held>
}

const HOLDS = new WeakMap<object, Holds>()

/** How long a hold lasts at most (a today pull takes about a second). */
export const SAVE_HOLD_MAX_MS = 5_000

/** The internals this relies on, as found (see `pinned-hooks.test.ts`). */
export function saveHoldInternals(repo: Repo): Record<string, boolean> {
  const source = String(Repo)
  return {
    'the repo saves a document through storageSubsystem.saveDoc':
      /this\.storageSubsystem\.saveDoc\(handle\.documentId, doc\)/.test(source),
    'storageSubsystem.saveDoc': typeof repo.storageSubsystem?.saveDoc === 'function',
  }
}

function holdsOf(repo: Repo): Holds | undefined {
  const storage = repo.storageSubsystem
  if (!storage || typeof storage.saveDoc !== 'function') return undefined
  const known = HOLDS.get(storage)
  if (known) return known
  const original = storage.saveDoc.bind(storage)
  const save: SaveDoc = (documentId, doc) => original(documentId, doc)
  const h: Holds = { save, count: new Map(), pending: new Map() }
  storage.saveDoc = (documentId: DocumentId, doc: Doc<unknown>): Promise<void> => {
    if (!h.count.has(documentId)) return save(documentId, doc)
    return new Promise<void>((resolve, reject) => {
      const held = h.pending.get(documentId)
      if (held) {
        held.doc = doc
        held.waiting.push({ resolve, reject })
      } else h.pending.set(documentId, { doc, waiting: [{ resolve, reject }] })
    })
  }
  HOLDS.set(storage, h)
  return h
}

/**
 * Holds the saves of `ids` in `repo` until the returned `release` is called (or `maxMs` passed); `release` resolves once
 * the held saves are done. Without storage, nothing is held.
 */
export function holdSaves(
  repo: Repo,
  ids: Iterable<DocumentId>,
  maxMs = SAVE_HOLD_MAX_MS,
): () => Promise<void> {
  const holds = holdsOf(repo)
  if (!holds) return () => Promise.resolve()
  const mine = [...new Set(ids)]
  for (const id of mine) holds.count.set(id, (holds.count.get(id) ?? 0) + 1)
  let released: Promise<void> | undefined
  const release = (): Promise<void> => {
    if (released) return released
    clearTimeout(timer)
    const saves: Promise<void>[] = []
    for (const id of mine) {
      const n = (holds.count.get(id) ?? 1) - 1
      if (n > 0) {
        holds.count.set(id, n)
        continue
      }
      holds.count.delete(id)
      const held = holds.pending.get(id)
      if (!held) continue
      holds.pending.delete(id)
      saves.push(
        holds.save(id, held.doc).then(
          () => held.waiting.forEach((w) => w.resolve()),
          (err: unknown) => held.waiting.forEach((w) => w.reject(err)),
        ),
      )
    }
    released = Promise.all(saves).then(() => undefined)
    return released
  }
  const timer = setTimeout(() => void release(), maxMs)
  if (typeof timer === 'object' && 'unref' in timer) timer.unref()
  return release
}
