import * as A from '@automerge/automerge'
import { marEntryProblem, type ChartCollection } from '@clinic-mesh/records'

/** A MAR entry a browser's change writes under: `charts.<pid>.mar.<id>...`. */
interface TouchedEntry {
  readonly pid: string
  readonly id: string
}

/** The MAR entries the writes touch (deduplicated). */
export function touchedMarEntries(writes: readonly { path: readonly (string | number)[] }[]): TouchedEntry[] {
  const out = new Map<string, TouchedEntry>()
  for (const w of writes) {
    const [c, pid, section, id] = w.path
    if (c !== 'charts' || section !== 'mar' || pid === undefined || id === undefined) continue
    out.set(`${String(pid)}/${String(id)}`, { pid: String(pid), id: String(id) })
  }
  return [...out.values()]
}

/**
 * The node's clinical check of the MAR entries a browser's sync message adds (issue 15, MAR): the message is applied
 * to a copy of the node's document and every touched entry must pass `marEntryProblem` (valid fields, a line of a
 * signed prescription of that chart, a correction of an entry of the same line, written by `user`). Append-only is
 * the field policy's part (`createOnly`). Returns why the message is refused, or undefined.
 */
export function marEntriesProblem(
  doc: A.Doc<unknown>,
  data: Uint8Array,
  entries: readonly TouchedEntry[],
  user: string,
): string | undefined {
  if (entries.length === 0) return undefined
  let next: A.Doc<ChartCollection>
  try {
    ;[next] = A.receiveSyncMessage(A.clone(doc as A.Doc<ChartCollection>), A.initSyncState(), data)
  } catch {
    return 'the change to the medicines given does not apply to this device’s copy'
  }
  for (const t of entries) {
    const chart = next.charts?.[t.pid]
    if (!chart) return `MAR entry ${t.id}: no chart ${t.pid} on this device`
    const problem = marEntryProblem(chart, t.id, { user })
    if (problem) return problem
  }
  return undefined
}
