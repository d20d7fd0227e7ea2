import type { DocHandle } from '@automerge/automerge-repo'
import { spliceNotes, type Actor, type ChartCollection } from '@clinic-mesh/records'

/** The smallest splice turning `before` into `after` (common prefix and suffix kept). */
export function diffSplice(before: string, after: string): { index: number; remove: number; insert: string } {
  let start = 0
  const max = Math.min(before.length, after.length)
  while (start < max && before[start] === after[start]) start++
  let endB = before.length
  let endA = after.length
  while (endB > start && endA > start && before[endB - 1] === after[endA - 1]) {
    endB--
    endA--
  }
  return { index: start, remove: endB - start, insert: after.slice(start, endA) }
}

/**
 * The clinician's notes as collaborative text. Each edit in the textarea becomes one splice at the place it
 * happened (records `spliceNotes`, Automerge text), written to the browser repo at once — so two clinicians
 * typing in different places both keep their words, and typing goes on while the device node is away.
 */
export class NotesDraft {
  text = $state('')
  readonly #handle: DocHandle<ChartCollection>
  readonly #pid: string
  readonly #eid: string
  readonly #actor: () => Actor
  /** True while this editor's own change is applied: its 'change' event is not a remote edit. */
  #local = false

  constructor(handle: DocHandle<ChartCollection>, pid: string, eid: string, actor: () => Actor) {
    this.#handle = handle
    this.#pid = pid
    this.#eid = eid
    this.#actor = actor
    this.text = this.#docText()
  }

  #docText(): string {
    return this.#handle.doc().charts[this.#pid]?.encounters[this.#eid]?.clinician.notes ?? ''
  }

  /** Applies what the user typed; returns the merged text (others' concurrent typing included). */
  input(value: string): string {
    const current = this.#docText()
    const { index, remove, insert } = diffSplice(this.text, value)
    if (remove === 0 && insert === '') return current
    const safeIndex = Math.min(index, current.length)
    const safeRemove = Math.min(remove, current.length - safeIndex)
    this.#local = true
    try {
      this.#handle.change((d) => {
        const chart = d.charts[this.#pid]
        if (chart) spliceNotes(chart, this.#eid, safeIndex, safeRemove, insert, this.#actor())
      })
    } finally {
      this.#local = false
    }
    this.text = this.#docText()
    return this.text
  }

  /**
   * Follows remote edits; `onRemote` runs synchronously with the merged text and the splice that led to it, so
   * an editor can update its field (and shift its caret) before the next keystroke is diffed.
   */
  follow(
    onRemote?: (text: string, splice: { index: number; remove: number; insert: string }) => void,
  ): () => void {
    const onChange = (): void => {
      if (this.#local) return
      const next = this.#docText()
      if (next === this.text) return
      const splice = diffSplice(this.text, next)
      this.text = next
      onRemote?.(next, splice)
    }
    this.#handle.on('change', onChange)
    return () => this.#handle.off('change', onChange)
  }
}
