import * as A from '@automerge/automerge'
import type { Repo } from '@automerge/automerge-repo'
import type { AutomergeBackend } from './backend.js'

/**
 * Loads documents from storage the way `A.load` does instead of through patches (issue 17: cold start).
 *
 * automerge-repo 2.5 loads every document with `A.loadIncremental(A.init(), bytes)` (StorageSubsystem.loadDoc): the
 * WebAssembly side reads the chunks quickly (~12 ms for a bucket of 160 charts), but the JS document is then built by
 * applying one patch per value to the empty document (~125 ms), and the DocHandle, to announce the load as a `change`
 * event, asks `A.diff(doc, [], heads)` for the same patches once more (~35 ms). `A.load` on the same bytes
 * materializes the document directly (~45 ms) and nothing listens to a load's `change` event (the handle is not ready
 * yet, every listener of this repo ignores it).
 *
 * Two wraps, scoped to exactly those loads (nothing else changes):
 * - `StorageSubsystem.prototype.loadDocData` tags the bytes it returns (a WeakSet of the very Uint8Array);
 * - the Automerge document class: `loadIncremental(bytes)` of tagged bytes into a document without heads marks it;
 *   the `applyAndReturnPatches` that follows (in `progressDocument`) then materializes the document as `A.load` does
 *   and returns no patches; and the first `A.diff(doc, [], heads)` of that document (the DocHandle's) answers `[]`
 *   from the cache `A.diff` already consults (`mostRecentPatch`), once; later diffs are computed as always.
 * Heads, saved-heads bookkeeping and storage are automerge-repo's own: only how the JS object is built differs.
 *
 * Pinned with the other hooks (`index.ts`, `AUTOMERGE_PINNED`); `pinned-hooks.test.ts` checks the internals this
 * relies on and fails when an upgrade changes them. If they are missing at run time, `installFastLoad` returns false
 * and loads stay as they were.
 */

const STATE = Symbol.for('_am_meta')
const INSTALLED = Symbol.for('clinic-mesh/fast-load')
const FRESH = Symbol('a storage load into an empty document')

/** Bytes returned by StorageSubsystem.loadDocData, not yet loaded. */
const fromStorage = new WeakSet<Uint8Array>()
let loads = 0

interface Backend extends AutomergeBackend {
  [FRESH]?: boolean
}

interface Subsystem {
  loadDocData: (this: Subsystem, documentId: string) => Promise<Uint8Array | null>
  loadDoc: (this: Subsystem, documentId: string) => Promise<unknown>
}

type Marked<P> = P & { [INSTALLED]?: boolean }

/** How many documents were loaded through the fast path in this process (tests and the bench read it). */
export function fastLoadCount(): number {
  return loads
}

/** The internals this relies on, as found: every entry must be true for the hook to install (see the test). */
export function fastLoadInternals(repo: Repo): Record<string, boolean> {
  const backend = Object.getPrototypeOf(A.getBackend(A.init())) as Partial<Backend>
  const sub = repo.storageSubsystem
    ? (Object.getPrototypeOf(repo.storageSubsystem) as Partial<Subsystem>)
    : undefined
  const loadDocSrc = typeof sub?.loadDoc === 'function' ? String(sub.loadDoc) : ''
  return {
    'backend.loadIncremental': typeof backend.loadIncremental === 'function',
    'backend.applyAndReturnPatches': typeof backend.applyAndReturnPatches === 'function',
    'backend.materialize': typeof backend.materialize === 'function',
    'backend.getHeads': typeof backend.getHeads === 'function',
    'storage.loadDocData': typeof sub?.loadDocData === 'function',
    'storage.loadDoc reads loadDocData into loadIncremental(init())':
      loadDocSrc.includes('this.loadDocData(') && /loadIncremental\(A\.init\(\),\s*binary\)/.test(loadDocSrc),
    'A.loadIncremental goes through progressDocument': /progressDocument\(/.test(String(A.loadIncremental)),
    'A.diff consults mostRecentPatch': /mostRecentPatch/.test(String(A.diff)),
  }
}

/** Installs the fast load for this repo's storage (idempotent, process-wide per class). False if it cannot. */
export function installFastLoad(repo: Repo): boolean {
  const internals = fastLoadInternals(repo)
  if (!Object.values(internals).every(Boolean)) return false
  const backend = Object.getPrototypeOf(A.getBackend(A.init())) as Marked<Backend>
  const sub = Object.getPrototypeOf(repo.storageSubsystem) as Marked<Subsystem>
  if (!sub[INSTALLED]) {
    const loadDocData = sub.loadDocData
    sub.loadDocData = async function (this: Subsystem, documentId: string) {
      const bytes = await loadDocData.call(this, documentId)
      if (bytes) fromStorage.add(bytes)
      return bytes
    }
    sub[INSTALLED] = true
  }
  if (!backend[INSTALLED]) {
    const loadIncremental = backend.loadIncremental
    const apply = backend.applyAndReturnPatches
    backend.loadIncremental = function (this: Backend, data: Uint8Array) {
      const fresh = fromStorage.has(data) && this.getHeads().length === 0
      fromStorage.delete(data)
      const out = loadIncremental.call(this, data)
      this[FRESH] = fresh
      return out
    }
    backend.applyAndReturnPatches = function (this: Backend, doc: unknown, meta: unknown) {
      const fresh = this[FRESH] === true
      this[FRESH] = undefined
      const observed = (meta as { patchCallback?: unknown } | null)?.patchCallback !== undefined
      if (!fresh || observed) return apply.call(this, doc, meta)
      const value = this.materialize('/', undefined, meta)
      loads++
      answerLoadDiffOnce(value, this.getHeads())
      return { value, patches: [] }
    }
    backend[INSTALLED] = true
  }
  return true
}

/** The DocHandle's `A.diff(doc, [], heads)` right after the load answers `[]` once (nobody listens to it). */
function answerLoadDiffOnce(doc: unknown, heads: string[]): void {
  if (typeof doc !== 'object' || doc === null) return
  const state = (doc as { [STATE]?: { mostRecentPatch?: unknown } })[STATE]
  if (!state) return
  state.mostRecentPatch = {
    before: [],
    after: heads,
    get patches() {
      delete state.mostRecentPatch
      return []
    },
  }
}
