import type { DocHandle, Repo } from '@automerge/automerge-repo'
import type { ClinicDirectoryDoc, DocUrl } from '@clinic-mesh/contracts'
import {
  decodeOpenVisits,
  emptyCollection,
  encodeOpenVisits,
  openVisitsOf,
  summarize,
  type ChartCollection,
} from '@clinic-mesh/records'
import { ClinicStore } from '@clinic-mesh/store'
import type { UserRegisterDoc } from './auth.js'
import type { MembershipDoc } from './device-node-init.js'

/** The searchable summary of one chart of a bucket (the store's index). */
export const summarizeOf = (b: ChartCollection, pid: string): ReturnType<typeof summarize> | undefined => {
  const c = b.charts[pid]
  return c ? summarize(c) : undefined
}

/** The open visits of one chart of a bucket, packed for the index shards (the day's queue reads them). */
export const openVisitsOfBucket = (b: ChartCollection, pid: string): string | undefined => {
  const c = b.charts[pid]
  return c ? encodeOpenVisits(openVisitsOf(c)) : undefined
}

/** When each of a chart's open visits arrived (packed by `openVisitsOfBucket`): what the today documents sort by. */
export const arrivalsOfVisits = (packed: string): string[] => decodeOpenVisits(packed).map((v) => v.arrivedAt)

/**
 * A new clinic's documents: records layout, membership, user register, and the directory naming them. With
 * `expectedCharts` the chart buckets are sized for that many charts (store `chartBucketsFor`: 50 → 8, 10,000 →
 * 1,024); without, the default 64.
 */
export function createClinicDocuments(
  repo: Repo,
  clinic: string,
  name: string,
  expectedCharts?: number,
): DocHandle<ClinicDirectoryDoc> {
  // the documents only: the node opens its store over them next (a store kept here would write every summary twice)
  const recordsRoot = ClinicStore.createDocuments<ChartCollection>(repo, {
    clinic,
    emptyBucket: emptyCollection,
    ...(expectedCharts !== undefined ? { expectedCharts } : {}),
  })
  const members = repo.create<MembershipDoc>({ kind: 'clinic-membership/1', enrolments: {}, revocations: {} })
  const users = repo.create<UserRegisterDoc>({ kind: 'user-register/1', users: {} })
  return repo.create<ClinicDirectoryDoc>({
    kind: 'clinic-directory/1',
    clinic,
    name,
    recordsRoot: recordsRoot as string as DocUrl,
    ledgerLogs: {},
    settlement: {},
    membership: members.url as string as DocUrl,
    users: users.url as string as DocUrl,
  })
}
