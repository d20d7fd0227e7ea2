/** How long a remote chart edit waits for its author's own summary before this device repairs it (ms). */
export const REPAIR_DELAY_MS = 1_000

/**
 * Summary repairs of remote chart edits, held back for a moment. The author of an edit writes the chart's bucket and
 * then its summary (two documents, synced apart): a device that hears the bucket first would otherwise write the same
 * summary again at once, a second shard change that every device then syncs (measured on the registration desk,
 * issue 17 #8: about half of a tablet's shard changes were such repairs, each one synced to every peer and the relay).
 * After `delayMs` the repair runs with each patient's latest bucket and writes only what still differs (nothing once
 * the author's summary has arrived; the merged summary after concurrent edits, as before). A browser's edit, whose
 * author writes no summary, is summarised by its device node that much later (1 s by default): search and the queue
 * on other devices lag by as much; the browser's own index is updated at once, as before.
 */
export class DeferredRepairs<H> {
  readonly #pending = new Map<string, H>()
  readonly #delayMs: number
  readonly #run: (entries: [string, H][]) => void
  #timer: ReturnType<typeof setTimeout> | undefined
  /** Waiters of `settled()`, resolved once nothing is pending. */
  #settled: (() => void)[] = []

  /** `run` gets each pending patient with the last source (e.g. its bucket's handle) it was added with. */
  constructor(delayMs: number, run: (entries: [string, H][]) => void) {
    this.#delayMs = delayMs
    this.#run = run
  }

  /** How many patients wait for a repair. */
  get size(): number {
    return this.#pending.size
  }

  add(patientId: string, source: H): void {
    this.#pending.set(patientId, source)
    if (this.#timer !== undefined) return
    this.#timer = setTimeout(() => this.flush(), this.#delayMs)
    // a pending repair never keeps a process alive (the peers that hold the bucket repair it too)
    if (typeof this.#timer === 'object' && 'unref' in this.#timer) this.#timer.unref()
  }

  /**
   * Resolves once no repair is pending: at once if none is, else after the pending ones have run (when their delay is
   * up, or at `flush`). What a test awaits to see whether a held-back repair wrote anything.
   */
  settled(): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve()
    return new Promise((resolve) => this.#settled.push(resolve))
  }

  /** Runs every pending repair now. */
  flush(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#pending.size > 0) {
      const entries = [...this.#pending]
      this.#pending.clear()
      try {
        this.#run(entries)
      } finally {
        if (this.#pending.size === 0) for (const resolve of this.#settled.splice(0)) resolve()
      }
    }
  }
}
