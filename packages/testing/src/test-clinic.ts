import type { DocHandle, Repo } from '@automerge/automerge-repo'
import type { ClinicDirectoryDoc, DocUrl } from '@clinic-mesh/contracts'

/**
 * The documents a clinic's first device writes, at their lightest: a records layout with one index shard and one
 * chart bucket, and the clinic directory pointing at it (no ledger logs, nothing settled yet). For the devices of the
 * relay tests and the scale bench, which talk to a relay without a device node.
 */
export function createTestClinic(repo: Repo, clinic: string): DocHandle<ClinicDirectoryDoc> {
  const shard = repo.create({ layout: 'index/1', summaries: {} })
  const bucket = repo.create({ charts: {} })
  const root = repo.create({
    layout: 'clinic-mesh/layout/1',
    clinic,
    createdAt: new Date().toISOString(),
    indexShards: [shard.url],
    chartBuckets: [bucket.url],
  })
  return repo.create<ClinicDirectoryDoc>({
    kind: 'clinic-directory/1',
    clinic,
    name: `Clinic ${clinic}`,
    recordsRoot: root.url as string as DocUrl,
    ledgerLogs: {},
    settlement: {},
  })
}
