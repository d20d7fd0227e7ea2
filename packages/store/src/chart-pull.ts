/** How `ClinicStore.loadAllCharts` pulls a clinic's chart buckets. */
export interface PullOptions {
  /** save each bucket to storage and drop it from memory once local (a joining tablet) */
  release?: boolean
  /** buckets to pull before the others (today first: the buckets of the open visits), in this order */
  first?: readonly number[]
  /** called as each bucket is local (progress) */
  onBucket?: (bucket: number) => void
}

/** Charts a pull holds in flight at once, about (see `pullWidthFor`). */
const CHARTS_IN_FLIGHT = 200

/**
 * Buckets a pull fetches at once: a joining tablet's peak memory is what is in flight, and a bucket holds
 * charts / buckets charts, so the width shrinks as the clinic grows (1,000 charts in 64 buckets: 8; 5,000: 2; 10,000
 * and more: 1). Measured (bench P1's joiner, loaded 2-core box): 10,000 charts 2 at a time peaked at 562–583 MB, 1 at
 * a time 345–397 MB and finished sooner; 50,000 charts 2 at a time 851 MB, 1 at a time 812 MB (514 MB with a 256 MB
 * heap).
 */
export function pullWidthFor(charts: number, buckets: number): number {
  const perBucket = Math.max(1, Math.ceil(charts / Math.max(1, buckets)))
  return Math.max(1, Math.min(8, Math.floor(CHARTS_IN_FLIGHT / perBucket)))
}

/** Bucket numbers 0..n-1 with `first` (deduplicated, in range) ahead of the rest. */
export function pullOrder(n: number, first: readonly number[] = []): number[] {
  const seen = new Set<number>()
  const order: number[] = []
  for (const i of [...first, ...Array.from({ length: n }, (_, k) => k)])
    if (Number.isInteger(i) && i >= 0 && i < n && !seen.has(i)) {
      seen.add(i)
      order.push(i)
    }
  return order
}

/**
 * Progress of a tablet pulling a clinic's charts, today first: the buckets holding today's open visits, then the
 * rest in the background. What `GET /api/status` reports and the status bar shows.
 */
export class ChartPull {
  readonly total: number
  readonly today: ReadonlySet<number>
  readonly startedAt = performance.now()
  #done = 0
  #todayDone = 0
  /** ms from the start until today's buckets were local (undefined until then) */
  todayMs: number | undefined
  /** ms from the start until every bucket was local (undefined until then) */
  allMs: number | undefined

  constructor(total: number, today: readonly number[]) {
    this.total = total
    this.today = new Set(today)
    if (this.today.size === 0) this.todayMs = 0
  }

  /** Bucket `i` is local. */
  done(i: number): void {
    this.#done++
    if (this.today.has(i) && ++this.#todayDone === this.today.size)
      this.todayMs = performance.now() - this.startedAt
    if (this.#done === this.total) this.allMs = performance.now() - this.startedAt
  }

  get progress(): { done: number; total: number; todayDone: number; todayTotal: number } {
    return { done: this.#done, total: this.total, todayDone: this.#todayDone, todayTotal: this.today.size }
  }
}
