import * as A from '@automerge/automerge'
import type { FieldWrite } from './field-policy.js'

/** One operation of an incoming change, resolved to the path it writes. */
export interface ResolvedWrite extends FieldWrite {
  /** An empty container created inside an object the same message creates: structure, not content. */
  readonly structural: boolean
}

export interface ResolvedChange {
  readonly hash: string
  readonly writes: readonly ResolvedWrite[]
}

export type Resolution =
  | { readonly ok: true; readonly changes: readonly ResolvedChange[] }
  | { readonly ok: false; readonly message: string }

const ROOT = '_root'

/**
 * Resolves every operation of `changes` (raw Automerge changes, e.g. of a sync message) to the document path it
 * writes, against `doc`, the receiver's current copy, without applying anything: objects the changes create are
 * followed through their creating operation, older objects through the document (`objInfo`). Changes the
 * document already holds are skipped (a peer may resend what it received). Every operation is seen, including
 * ones that would lose a conflict and not show in a diff, so a hidden write cannot slip through.
 */
export function resolveChanges(doc: A.Doc<unknown>, changes: readonly Uint8Array[]): Resolution {
  const backend = A.getBackend(doc)
  const fresh: A.DecodedChange[] = []
  for (const bytes of changes) {
    const decoded = decodeAll(bytes)
    if (!decoded) return { ok: false, message: 'a change does not decode' }
    for (const c of decoded) if (backend.getChangeByHash(c.hash) === null) fresh.push(c)
  }
  // objects created by these changes: id → (parent object, key)
  const created = new Map<string, { parent: string; key: string | number }>()
  for (const c of fresh) {
    c.ops.forEach((op, i) => {
      if (op.action.startsWith('make'))
        created.set(`${c.startOp + i}@${c.actor}`, { parent: op.obj, key: keyOf(op) })
    })
  }
  const paths = new Map<string, (string | number)[] | undefined>([[ROOT, []]])
  const pathOf = (obj: string, depth = 0): (string | number)[] | undefined => {
    if (paths.has(obj)) return paths.get(obj)
    let path: (string | number)[] | undefined
    const made = created.get(obj)
    if (made && depth < 64) {
      const parent = pathOf(made.parent, depth + 1)
      path = parent ? [...parent, made.key] : undefined
    } else if (!made) {
      try {
        path = backend.objInfo(obj).path
      } catch {
        path = undefined
      }
    }
    paths.set(obj, path)
    return path
  }
  const out: ResolvedChange[] = []
  for (const c of fresh) {
    const writes: ResolvedWrite[] = []
    for (const op of c.ops) {
      const base = pathOf(op.obj)
      if (!base)
        return {
          ok: false,
          message: `change ${c.hash.slice(0, 12)} writes to an object this device does not hold`,
        }
      const isMapOp = typeof (op as { key?: unknown }).key === 'string'
      const path = isMapOp ? [...base, op.key] : base
      const overwrite = op.action === 'del' || op.pred.length > 0
      const structural = op.action.startsWith('make') && created.has(op.obj) && !overwrite
      writes.push({ path, overwrite, structural, ...(op.value !== undefined ? { value: op.value } : {}) })
    }
    out.push({ hash: c.hash, writes })
  }
  return { ok: true, changes: out }
}

/**
 * The changes of one sync-message entry: a change chunk, a bundle of changes (Automerge 3 sends several changes
 * compressed together), or a whole-document chunk.
 */
function decodeAll(bytes: Uint8Array): A.DecodedChange[] | undefined {
  try {
    return [A.decodeChange(bytes)]
  } catch {
    // not a single change: a document chunk?
  }
  try {
    // a document chunk of several changes (Automerge 3's sync sends runs of changes this way), deps possibly outside
    return A.getAllChanges(A.load(bytes, { allowMissingChanges: true })).map((c) => A.decodeChange(c))
  } catch {
    // nor a document chunk
  }
  try {
    return A.readBundle(bytes).changes
  } catch {
    return undefined
  }
}

/** A map key, or `#` for a list element (policies never name list positions). */
function keyOf(op: A.DecodedChange['ops'][number]): string | number {
  const key = (op as { key?: unknown }).key
  return typeof key === 'string' ? key : '#'
}
