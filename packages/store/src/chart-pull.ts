import type { BucketDoc } from './bucket-doc.js'
import type { HeldBuckets } from './held-buckets.js'

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
 * Opens `order`'s buckets, `concurrency` at a time; with `release`, each one this store did not hold before goes to
 * storage and leaves memory once local (off the pull's path: resolves once those releases are done too). `use` marks
 * each as used now (kept in memory until idle: today's buckets, which the clinic works with).
 */
export async function pullBuckets<B extends BucketDoc>(
  buckets: HeldBuckets<B>,
  order: readonly number[],
  concurrency: number,
  options: { release: boolean; use?: boolean; onBucket?: ((bucket: number) => void) | undefined },
): Promise<void> {
  let next = 0
  const releases: Promise<void>[] = []
  const worker = async (): Promise<void> => {
    while (next < order.length) {
      const i = order[next++]!
      const held = buckets.has(i)
      const h = await buckets.open(i, options.use === true)
      options.onBucket?.(i)
      if (options.release && !held) releases.push(buckets.release(i, h))
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, order.length) }, worker))
  await Promise.all(releases)
}

/**
 * How many charts the buckets hold (loads every bucket it holds no count of). A bucket released to storage is
 * counted as it was when it was saved: loading it again just to count would bring back, for a moment, the memory
 * the release saved (and Automerge's WebAssembly heap never shrinks).
 */
export async function countCharts<B extends BucketDoc>(
  buckets: HeldBuckets<B>,
  count: number,
): Promise<number> {
  let n = 0
  for (let i = 0; i < count; i++) {
    const saved = buckets.has(i) ? undefined : buckets.releases.savedCount(i)
    n += saved ?? Object.keys((await buckets.open(i)).doc().charts).length
  }
  return n
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

  readonly #seen = new Set<number>()

  /** Bucket `i` is local (again: counted once). */
  done(i: number): void {
    if (this.#seen.has(i)) return
    this.#seen.add(i)
    this.#done++
    if (this.today.has(i) && ++this.#todayDone === this.today.size)
      this.todayMs = performance.now() - this.startedAt
    if (this.#done === this.total) this.allMs = performance.now() - this.startedAt
  }

  get progress(): { done: number; total: number; todayDone: number; todayTotal: number } {
    return { done: this.#done, total: this.total, todayDone: this.#todayDone, todayTotal: this.today.size }
  }
}
