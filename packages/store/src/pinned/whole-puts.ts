import * as A from '@automerge/automerge'
import type { DocHandle } from '@automerge/automerge-repo'
import type { AutomergeBackend } from './backend.js'

/**
 * A change that only puts new whole values into one top-level map (a bulk import's new charts: `charts[<id>] = chart`)
 * builds the JS document by materializing each new value, as `A.load` builds a document, instead of applying one
 * patch per value (issue 17 #8, bench P15).
 *
 * Automerge updates the JS view after each change by exporting a patch per value written and walking its path into a
 * copy of the document (`applyAndReturnPatches`): measured here, ~60 % of what a new chart of ~20 values costs
 * (~0.8 ms), twice what writing its operations costs. For a value that did not exist before the change there is
 * nothing to patch: its whole subtree can be materialized from the WebAssembly document (~0.2 ms a chart), then put
 * into a shallow copy of the map and of the root, each copy carrying the metadata Automerge's own copies carry
 * (object id, datatype, the new document state). The operations written, and so the stored and synced document, are
 * exactly those of the same assignments without this; only how the JS view is built differs.
 *
 * The patches returned, which automerge-repo's `change` event carries (`A.diff` answers from them), put each new
 * value whole at `[map, key]`, as `sync-patches.ts` does for a document's first sync: applied to the document before
 * the change they give the document after it.
 *
 * Taken only when, at the moment Automerge asks for the patches, the change is the one `putWhole` announced for this
 * very document, no key was in the map before, each key now holds a map, and the document observes no patches
 * (`patchCallback`) and is not frozen; otherwise the change goes through Automerge's own path. Pinned with the other
 * hooks (`index.ts`): `pinned-hooks.test.ts` fails when an upgrade changes the internals, and `whole-puts.test.ts`
 * compares the document with one built by patches (values and object ids) and with a reload.
 */

const STATE = Symbol.for('_am_meta')
const OBJECT_ID = Symbol.for('_am_objectId')
const DATATYPE = Symbol.for('_am_datatype_')
const INSTALLED = Symbol.for('clinic-mesh/whole-puts')

interface Backend extends AutomergeBackend {
  [INSTALLED]?: boolean
}

type Obj = Record<string | symbol, unknown>

/** The put `putWhole` announced, for the next `applyAndReturnPatches` of that backend. */
let announced: { backend: unknown; map: string; keys: string[] } | undefined
let wholePuts = 0
/** Whether `putWhole` takes this path (`setWholePuts`; on unless turned off). */
let wholePutsOn = true

/** Turns the materialized puts on or off, process-wide (a baseline turns them off). */
export function setWholePuts(on: boolean): void {
  wholePutsOn = on
}

/** How many changes built their JS view through this path in this process (tests, the bench). */
export function wholePutCount(): number {
  return wholePuts
}

const isPlainMap = (v: unknown): v is Obj =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype

/** The internals this relies on, as found: every entry must be true for the hook to install (see the test). */
export function wholePutsInternals(): Record<string, boolean> {
  const backend = A.getBackend(A.init())
  const proto = Object.getPrototypeOf(backend) as Partial<Backend>
  const doc = A.change(A.from<{ m: Record<string, unknown> }>({ m: {} }), (d) => {
    d.m['k'] = { x: 1 }
  })
  const marks = (o: unknown): boolean =>
    isPlainMap(o) &&
    typeof o[OBJECT_ID] === 'string' &&
    o[DATATYPE] === 'map' &&
    o[STATE] === (doc as unknown as Obj)[STATE]
  return {
    'backend.applyAndReturnPatches': typeof proto.applyAndReturnPatches === 'function',
    'backend.materialize': typeof proto.materialize === 'function',
    'backend.getWithType': typeof proto.getWithType === 'function',
    'backend.updateDiffCursor': typeof proto.updateDiffCursor === 'function',
    'A.change goes through _change (progressDocument)': /_change\(/.test(String(A.change)),
    'objects carry object id, datatype and the state': marks(doc) && marks(doc.m) && marks(doc.m['k']),
    "the root's object id is _root": (doc as unknown as Obj)[OBJECT_ID] === '_root',
  }
}

/** Installs the hook (idempotent, process-wide). False if an internal is missing: changes stay stock. */
export function installWholePuts(): boolean {
  const proto = Object.getPrototypeOf(A.getBackend(A.init())) as Backend
  if (proto[INSTALLED]) return true
  if (!Object.values(wholePutsInternals()).every(Boolean)) return false
  const apply = proto.applyAndReturnPatches
  proto.applyAndReturnPatches = function (this: Backend, doc: unknown, meta: unknown) {
    const a = announced
    announced = undefined
    const built = a?.backend === this ? graft(this, doc, meta, a.map, a.keys) : undefined
    return built ?? apply.call(this, doc, meta)
  }
  proto[INSTALLED] = true
  return true
}

/** The document after a change that put `keys` new into `map`, built from `doc` (before it); undefined: not such. */
function graft(
  backend: Backend,
  doc: unknown,
  meta: unknown,
  map: string,
  keys: string[],
): { value: unknown; patches: unknown[] } | undefined {
  const state = meta as { patchCallback?: unknown; freeze?: unknown } | null
  if (!state || state.patchCallback !== undefined || state.freeze === true) return undefined
  if (!isPlainMap(doc) || Object.isFrozen(doc)) return undefined
  const before = doc[map]
  if (!isPlainMap(before) || typeof before[OBJECT_ID] !== 'string') return undefined
  const mapId = before[OBJECT_ID]
  const ids: string[] = []
  for (const key of keys) {
    if (Object.hasOwn(before, key)) return undefined
    const now = backend.getWithType(mapId, key)
    if (now?.[0] !== 'map' || typeof now[1] !== 'string') return undefined
    ids.push(now[1])
  }
  // from here on the change is built here: its patches are never computed (`materialize` would move the diff cursor
  // too, after computing them in WebAssembly for nothing)
  backend.updateDiffCursor()
  const after = marked({ ...before }, mapId, meta)
  const patches: unknown[] = []
  keys.forEach((key, i) => {
    const value = backend.materialize(ids[i]!, undefined, meta)
    after[key] = value
    patches.push({ action: 'put', path: [map, key], value })
  })
  const root = marked({ ...doc }, '_root', meta)
  root[map] = after
  wholePuts++
  return { value: root, patches }
}

/** A copy of a map as Automerge's own copies are marked (hidden, read-only: as the WebAssembly side defines them). */
function marked(o: Obj, id: string, meta: unknown): Obj {
  Object.defineProperty(o, OBJECT_ID, { value: id })
  Object.defineProperty(o, DATATYPE, { value: 'map' })
  Object.defineProperty(o, STATE, { value: meta })
  return o
}

/**
 * `handle.change` putting each `[key, value]` (plain maps the document does not hold yet) into the top-level map
 * `map`, its JS view built by materializing the new values (above) where the hook is installed and applies.
 */
export function putWhole<D>(
  handle: DocHandle<D>,
  map: string,
  entries: readonly (readonly [string, unknown])[],
  options: A.ChangeOptions<D> = {},
): void {
  const backend = A.getBackend(handle.doc())
  announced = wholePutsOn ? { backend, map, keys: entries.map(([k]) => k) } : undefined
  try {
    handle.change((d) => {
      const target = (d as Record<string, Record<string, unknown>>)[map]!
      for (const [k, v] of entries) target[k] = v
    }, options)
  } finally {
    announced = undefined
  }
}
