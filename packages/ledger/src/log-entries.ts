import { ImmutableString, isImmutableString } from '@automerge/automerge'
import type { Operation } from './operation.js'

/**
 * Log schema 2 stores each operation, and each run signature, as one packed value: its JSON as an Automerge
 * `ImmutableString` (one Automerge op). Schema 1 stored them as maps of text, a character per op (~430 Automerge ops
 * for one dispense: `change` 4.2 ms and `load` 1.72 ms per operation, against 0.32 and 0.015 ms packed; automerge
 * 3.5.0). An operation is immutable and signed, so nothing ever merged inside it. Every reader goes through
 * `logOps` / `logSignatures`, which read both schemas.
 */
const parsed = new WeakMap<object, unknown>()

/**
 * An entry as plain data: a packed one parsed once per entry (an entry that is not JSON reads as its string, which no
 * validator accepts as an operation or a signature), a schema-1 map as it is.
 */
function unpack<T>(entry: unknown): T {
  if (!isImmutableString(entry)) return entry as T // schema 1: the map itself
  let v = parsed.get(entry)
  if (v === undefined) {
    try {
      v = JSON.parse(entry.val) as unknown
    } catch {
      v = entry.val
    }
    parsed.set(entry, v)
  }
  return v as T
}

/**
 * The entries of a list of a log any member may have written (its `ops`, or its signatures' values), unpacked but not
 * checked: the relay validates each one (not an array: none).
 */
export function logEntries(list: unknown): unknown[] {
  return Array.isArray(list) ? list.map((e: unknown) => unpack<unknown>(e)) : []
}

/** The log's operations, in order, whichever schema stores them. */
export function logOps(doc: { readonly ops: readonly unknown[] }): Operation[] {
  return (doc.ops ?? []).map((e) => unpack<Operation>(e))
}

/** The last operation of the log (undefined when empty). */
export function lastLogOp(doc: { readonly ops: readonly unknown[] }): Operation | undefined {
  const n = doc.ops?.length ?? 0
  return n > 0 ? unpack<Operation>(doc.ops[n - 1]) : undefined
}

/** The log's run signatures by first seq, whichever schema stores them. */
export function logSignatures<S>(doc: {
  readonly signatures?: { readonly [k: string]: unknown } | undefined
}): Record<string, S> {
  const out: Record<string, S> = {}
  for (const [k, e] of Object.entries(doc.signatures ?? {})) out[k] = unpack<S>(e)
  return out
}

/** An operation or a run signature in the form a log of `schema` stores it. */
export function packFor<T extends object>(schema: number, value: T): T | ImmutableString {
  return schema >= 2 ? new ImmutableString(JSON.stringify(value)) : (JSON.parse(JSON.stringify(value)) as T)
}
