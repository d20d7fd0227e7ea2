/**
 * Frees the patches Automerge keeps beside a document (measured: about half of a bucket's JS heap).
 *
 * Automerge 3 stores the patches of the latest change on the document's state (`mostRecentPatch`, kept so
 * that a following `A.diff` over exactly that change is free), and every object materialized by that change
 * points to that state. So the patches of every change stay reachable for as long as any object the change
 * created lives: a bucket of 156 charts written in 156 changes holds ~15,000 patch objects forever, and a
 * joining tablet holds the patches of every sync message it applied. automerge-repo has already used them
 * (DocHandle computes its `change` event's patches before emitting it), and nothing reads an older state's
 * patches again; `A.diff` without them recomputes the same result. This drops them.
 *
 * Relies on Automerge internals (the `_am_meta` symbol and the `mostRecentPatch` field), pinned with the other hooks
 * (`index.ts`); if they change, this does nothing (the store still works, it just holds more memory) and
 * `pinned-hooks.test.ts` fails.
 */
import * as A from '@automerge/automerge'

const STATE = Symbol.for('_am_meta')

interface AmState {
  mostRecentPatch?: unknown
}

function stateOf(o: object): AmState | undefined {
  const s = (o as { [STATE]?: unknown })[STATE]
  return typeof s === 'object' && s !== null ? s : undefined
}

function dropFrom(o: unknown): number {
  if (typeof o !== 'object' || o === null) return 0
  const s = stateOf(o)
  if (!s || s.mostRecentPatch === undefined) return 0
  delete s.mostRecentPatch
  return 1
}

/** The internals this relies on, as found (see `pinned-hooks.test.ts`). */
export function releasePatchesInternals(): Record<string, boolean> {
  const doc = A.change(A.init<{ x?: number }>(), (d) => {
    d.x = 1
  })
  return { 'a change keeps its patches on the document state': stateOf(doc)?.mostRecentPatch !== undefined }
}

/** After a change: frees the patches of the change that produced `doc`. O(1). Returns how many were freed. */
export function releaseLatestPatches(doc: unknown): number {
  return dropFrom(doc)
}

/**
 * After a document arrived (sync, storage): frees the patches of every change that materialized the document's
 * top-level entries, e.g. each chart of a bucket (`depth` 2: the root, its maps, and their entries). Objects deeper
 * down were materialized by the same changes as their parents, or by later ones whose release `releaseLatestPatches`
 * handles. O(entries).
 */
export function releaseAllPatches(doc: unknown, depth = 2): number {
  let n = dropFrom(doc)
  if (depth <= 0 || typeof doc !== 'object' || doc === null) return n
  for (const v of Object.values(doc)) n += releaseAllPatches(v, depth - 1)
  return n
}
