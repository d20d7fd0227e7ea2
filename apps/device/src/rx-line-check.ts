import * as A from '@automerge/automerge'
import { rxLineProblem, type ChartCollection } from '@clinic-mesh/records'

/** A prescription line a browser's change writes under: `charts.<pid>.prescriptions.<rx>.items.<line>...`. */
interface TouchedLine {
  readonly pid: string
  readonly rx: string
  readonly line: string
}

/** The prescription lines the writes touch (deduplicated). */
export function touchedLines(writes: readonly { path: readonly (string | number)[] }[]): TouchedLine[] {
  const out = new Map<string, TouchedLine>()
  for (const w of writes) {
    const [c, pid, section, rx, items, line] = w.path
    if (c !== 'charts' || section !== 'prescriptions' || items !== 'items' || line === undefined) continue
    if (pid === undefined || rx === undefined) continue
    const t = { pid: String(pid), rx: String(rx), line: String(line) }
    out.set(`${t.pid}/${t.rx}/${t.line}`, t)
  }
  return [...out.values()]
}

/**
 * The node's clinical check of the prescription lines a browser's sync message writes (issue 15: prescribing from the
 * formulary): the message is applied to a copy of the node's document, and every touched line that still exists must
 * be a valid coded line (`RxLineSchema`: formulary item, dose, route, frequency, duration, quantity). A removed line
 * passes. Returns why the message is refused, or undefined.
 */
export function prescriptionLinesProblem(
  doc: A.Doc<unknown>,
  data: Uint8Array,
  lines: readonly TouchedLine[],
): string | undefined {
  if (lines.length === 0) return undefined
  let next: A.Doc<ChartCollection>
  try {
    ;[next] = A.receiveSyncMessage(A.clone(doc as A.Doc<ChartCollection>), A.initSyncState(), data)
  } catch {
    return 'the change to a prescription does not apply to this device’s copy'
  }
  for (const t of lines) {
    const item = next.charts?.[t.pid]?.prescriptions?.[t.rx]?.items?.[t.line]
    if (item === undefined) continue
    const problem = rxLineProblem(item)
    if (problem) return `prescription ${t.rx}: line ${t.line} is not a valid coded line (${problem})`
  }
  return undefined
}
