import { ImmutableString } from '@automerge/automerge'
import type { DocHandle, Repo } from '@automerge/automerge-repo'
import type { BucketDoc } from './bucket-doc.js'
import {
  DEFAULT_CHART_BUCKETS,
  chartBucketsFor,
  DEFAULT_INDEX_SHARDS,
  LAYOUT,
  TODAY_LAYOUT,
  type ClinicRootDoc,
  type IndexShardDoc,
} from './layout.js'
import { INDEX_LAYOUT } from './packed-value.js'

/** What a new clinic's documents need: its id, an empty bucket, and (optionally) the layout's counts. */
export interface NewClinicInit<B extends BucketDoc> {
  clinic: string
  /** Initial value of an empty bucket (e.g. records' emptyCollection()). */
  emptyBucket: () => B
  indexShards?: number
  /** Chart buckets; default `chartBucketsFor(expectedCharts)`, or `DEFAULT_CHART_BUCKETS` without an expected size. */
  chartBuckets?: number
  /** How many charts the clinic is expected to hold (sizes its chart buckets: `chartBucketsFor`). */
  expectedCharts?: number
}

/** The chart bucket count a new clinic made with `init` gets. */
export function chartBucketCount(
  init: Pick<NewClinicInit<BucketDoc>, 'chartBuckets' | 'expectedCharts'>,
): number {
  if (init.chartBuckets !== undefined) return init.chartBuckets
  return init.expectedCharts === undefined ? DEFAULT_CHART_BUCKETS : chartBucketsFor(init.expectedCharts)
}

/** A new clinic's documents in `repo`: index shards, empty chart buckets, and the root naming them (`LAYOUT`). */
export function createClinicDocuments<B extends BucketDoc>(
  repo: Repo,
  init: NewClinicInit<B>,
): { root: DocHandle<ClinicRootDoc>; shards: DocHandle<IndexShardDoc>[] } {
  const shards: DocHandle<IndexShardDoc>[] = []
  for (let i = 0; i < (init.indexShards ?? DEFAULT_INDEX_SHARDS); i++) {
    shards.push(repo.create<IndexShardDoc>({ layout: INDEX_LAYOUT, summaries: {}, visits: {} }))
  }
  const buckets: ImmutableString[] = []
  for (let i = 0, n = chartBucketCount(init); i < n; i++)
    buckets.push(new ImmutableString(repo.create<B>(init.emptyBucket()).url))
  const root = repo.create<ClinicRootDoc>({
    layout: LAYOUT,
    clinic: init.clinic,
    createdAt: new Date().toISOString(),
    // scalars (one op each), not text: a 1,024-bucket root was ~40,000 ops for a joining tablet to apply
    indexShards: shards.map((s) => new ImmutableString(s.url)),
    chartBuckets: buckets,
    bootstrapped: { [repo.peerId]: new Date().toISOString() },
    // made with the root: two devices that each created one of these maps at once would lose one's entries
    archives: {},
    archiveFrom: {},
    today: TODAY_LAYOUT, // its device nodes keep today documents (a store writes them given `today.arrivals`)
  })
  return { root, shards }
}

/**
 * Re-evaluates the repo's announce policy whenever the root says something new about who holds what: a peer finished
 * bootstrapping (announce chart buckets to it from now on) or said which years of archives it holds (`archiveFrom`).
 */
export function reannounceOnHolderNews(repo: Repo, root: DocHandle<ClinicRootDoc>): void {
  const stamp = (d: ClinicRootDoc): string =>
    `${Object.keys(d.bootstrapped ?? {}).length}|${JSON.stringify(d.archiveFrom ?? {})}`
  let known = stamp(root.doc())
  root.on('change', ({ doc }) => {
    const now = stamp(doc)
    if (now !== known) {
      known = now
      repo.shareConfigChanged()
    }
  })
}
