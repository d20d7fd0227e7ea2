import type { DocHandle, DocumentId } from '@automerge/automerge-repo'
import { RefusalMessageSchema, tryParse } from '@clinic-mesh/contracts'
import { fieldLabel } from './field-labels.js'
import { markForDrop } from './dropped-copies.js'

/** A refused change as kept for the user: what they wrote, in plain words, and why it was not saved. */
export interface RefusedWrite {
  at: string
  documentId: string
  reason: string
  /** What the change held: field and value, as far as it was text or a number. */
  values: { field: string; value: string }[]
}

const KEY = 'clinic-mesh.refused'
/** After a refusal the browser drops its copy of the document and reloads it from the node, at most this often. */
const RESET_EVERY_MS = 10_000

/**
 * A device node checks every change this browser sends against the user's role (docs/ARCHITECTURE.md, one write
 * path). When it refuses one, nothing of it is saved anywhere but here: the values go to localStorage and stay on
 * screen until the user dismisses them; the browser's own copy of that document, which holds the refused change,
 * is dropped (before the reloaded page opens it: dropped-copies.ts) and fetched again from the node, so the next
 * edits sync.
 */
export class RefusedWrites {
  list = $state<RefusedWrite[]>(load())
  readonly #watched = new WeakSet<object>()
  readonly #fromNode: (senderId: string) => boolean

  /**
   * `fromNode` tells whether a sender is this browser's device node itself: automerge-repo forwards other peers'
   * ephemeral messages with their originator's `senderId`, and only the node's own refusal may drop a copy.
   */
  constructor(fromNode: (senderId: string) => boolean) {
    this.#fromNode = fromNode
  }

  watch(handle: DocHandle<unknown>): void {
    if (this.#watched.has(handle)) return
    this.#watched.add(handle)
    handle.on('ephemeral-message', ({ message, senderId }) => {
      if (this.#fromNode(senderId)) this.#onMessage(handle.documentId, message)
    })
  }

  dismiss(i: number): void {
    this.list = this.list.filter((_, j) => j !== i)
    save(this.list)
  }

  #onMessage(documentId: DocumentId, message: unknown): void {
    const m = tryParse(RefusalMessageSchema, message)
    if (!m) return // another ephemeral message, or not a refusal (@clinic-mesh/contracts sync/refusal.ts)
    const values = m.writes
      .filter((w) => typeof w.value === 'string' || typeof w.value === 'number')
      .map((w) => ({ field: fieldLabel(w.path.split('.')), value: String(w.value) }))
    const entry: RefusedWrite = {
      at: new Date().toISOString(),
      documentId,
      reason: m.message.replace(/ \([^)]*\)$/, ''),
      values: joinText(values),
    }
    this.list = [...this.list, entry]
    save(this.list)
    const last = Number(sessionStorage.getItem(`${KEY}.reset.${documentId}`) ?? 0)
    if (Date.now() - last < RESET_EVERY_MS) return
    sessionStorage.setItem(`${KEY}.reset.${documentId}`, String(Date.now()))
    markForDrop(documentId) // removed before the reloaded page's repo opens it
    location.reload()
  }
}

/** Characters typed into a note arrive one op each: show them as the text they make. */
function joinText(values: { field: string; value: string }[]): { field: string; value: string }[] {
  const out: { field: string; value: string }[] = []
  for (const v of values) {
    const last = out[out.length - 1]
    if (last && last.field === v.field && v.value.length === 1) last.value += v.value
    else out.push({ ...v })
  }
  return out
}

function load(): RefusedWrite[] {
  try {
    const raw = JSON.parse(localStorage.getItem(KEY) ?? '[]') as unknown
    return Array.isArray(raw) ? (raw as RefusedWrite[]) : []
  } catch {
    return []
  }
}

function save(list: RefusedWrite[]): void {
  localStorage.setItem(KEY, JSON.stringify(list.slice(-50)))
}
