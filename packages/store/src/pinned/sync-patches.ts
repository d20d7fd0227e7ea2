import * as A from '@automerge/automerge'
import type { AutomergeBackend } from './backend.js'

/**
 * Lets automerge-repo reuse the patches Automerge already computed when a sync message is applied, instead of
 * computing them all a second time.
 *
 * After every change to a document, a DocHandle asks `A.diff(after, headsBefore, headsAfter)` for its `change`
 * event. Automerge answers that from the patches it just used to update the JS document (`mostRecentPatch`) when
 * their `before` heads match, but it records `before` only for local changes: after `receiveSyncMessage` it is
 * undefined (automerge 3.5: `progressDocument` reads the old document's `heads`, which only `change` sets). So every
 * sync message is diffed again from scratch; for a tablet pulling a bucket of 156 charts that is a whole second
 * set of patches (measured: 42 % of what a joining repo allocates, ~1 GB for 4,000 charts).
 *
 * This wraps two methods of Automerge's WebAssembly document class: `receiveSyncMessage` notes the heads before the
 * message, and `applyAndReturnPatches` (called right after, by `progressDocument`) hands them to the old document's
 * state where `progressDocument` reads them. The patches are the same either way (the ones that updated the JS
 * document, from exactly those heads); only the recomputation goes. Relies on automerge internals, pinned with the
 * other hooks (`index.ts`): if the methods are missing it does nothing, and `pinned-hooks.test.ts` fails.
 *
 * A sync message into an empty document (a tablet fetching a bucket, the root or today's document for the first time)
 * is built as `A.load` builds a document (`materialize`), not by applying one patch per value to an empty object
 * (measured, a bucket of 10 charts: ~4 ms to apply the message in WebAssembly, ~7 ms more to materialize, ~25 ms more
 * through patches; bench P13: a joining tablet's today buckets). The patches returned, which the DocHandle's `change`
 * event carries (`A.diff` answers from them), then put each top-level value and each entry of a top-level map whole
 * (`charts/<id>`: what the store's listeners read): applied to an empty document they give the same document, as the
 * full patches do. Not when the document observes its patches (`patchCallback`): those get Automerge's own.
 */
const STATE = Symbol.for('_am_meta')
const INSTALLED = Symbol.for('clinic-mesh/sync-patches')
const BEFORE = Symbol('heads before the sync message')

interface Backend extends AutomergeBackend {
  [BEFORE]?: string[] | undefined
}

let freshSyncs = 0
/** Whether a sync message into an empty document is materialized (`setFreshSync`; on unless turned off). */
let freshSyncOn = true

/** Turns the materialized sync into empty documents on or off, process-wide (the bench's baseline turns it off). */
export function setFreshSync(on: boolean): void {
  freshSyncOn = on
}

/** How many documents a sync message built from empty through `materialize` in this process (tests, the bench). */
export function freshSyncCount(): number {
  return freshSyncs
}

type Patch = { action: 'put'; path: (string | number)[]; value: unknown }

/** A plain map of a materialized document (not a list, text, counter, date or bytes). */
function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype
}

/** Patches that build `doc` from an empty document: each top-level value, and each entry of a top-level map, whole. */
export function wholePatches(doc: unknown): Patch[] {
  const out: Patch[] = []
  if (!isMap(doc)) return out
  for (const [k, v] of Object.entries(doc)) {
    if (!isMap(v)) {
      out.push({ action: 'put', path: [k], value: v })
      continue
    }
    out.push({ action: 'put', path: [k], value: {} })
    for (const [id, e] of Object.entries(v)) out.push({ action: 'put', path: [k, id], value: e })
  }
  return out
}

interface Proto extends Backend {
  [INSTALLED]?: boolean
}

/** The internals this relies on, as found: every entry must be true for the hook to install (see the test). */
export function syncPatchesInternals(): Record<string, boolean> {
  const proto = Object.getPrototypeOf(A.getBackend(A.init())) as Partial<Proto>
  return {
    'backend.receiveSyncMessage': typeof proto.receiveSyncMessage === 'function',
    'backend.applyAndReturnPatches': typeof proto.applyAndReturnPatches === 'function',
    'backend.getHeads': typeof proto.getHeads === 'function',
    'backend.materialize': typeof proto.materialize === 'function',
    'A.receiveSyncMessage goes through progressDocument': /progressDocument\(/.test(
      String(A.receiveSyncMessage),
    ),
    'A.diff consults mostRecentPatch': /mostRecentPatch/.test(String(A.diff)),
  }
}

export function reuseSyncPatches(): boolean {
  const proto = Object.getPrototypeOf(A.getBackend(A.init())) as Proto
  if (proto[INSTALLED]) return true
  if (!Object.values(syncPatchesInternals()).every(Boolean)) return false
  const receive = proto.receiveSyncMessage
  const apply = proto.applyAndReturnPatches
  proto.receiveSyncMessage = function (this: Backend, ...args: unknown[]) {
    this[BEFORE] = this.getHeads()
    try {
      return receive.apply(this, args)
    } catch (err) {
      this[BEFORE] = undefined
      throw err
    }
  }
  proto.applyAndReturnPatches = function (this: Backend, doc: unknown, ...rest: unknown[]) {
    const before = this[BEFORE]
    this[BEFORE] = undefined
    const meta = rest[0] as { patchCallback?: unknown } | null | undefined
    const fresh =
      freshSyncOn && before?.length === 0 && meta?.patchCallback === undefined && this.getHeads().length > 0
    let result: { value: unknown; patches: unknown[] }
    if (fresh) {
      const value = this.materialize('/', undefined, meta)
      freshSyncs++
      result = { value, patches: wholePatches(value) }
    } else result = apply.call(this, doc, ...rest)
    if (before !== undefined && typeof doc === 'object' && doc !== null) {
      const state = (doc as { [STATE]?: { heads?: string[] } })[STATE]
      // progressDocument reads the old document's heads as the patches' `before`, then sets them to the same value
      if (state && state.heads === undefined) state.heads = before
    }
    return result
  }
  proto[INSTALLED] = true
  return true
}
