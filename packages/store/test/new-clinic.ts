import type { Repo } from '@automerge/automerge-repo'
import { ClinicStore, type BucketDoc, type CreateClinicInit } from '@clinic-mesh/store'

/** A test clinic ("c1") founded in `repo`, its chart buckets empty: the layout and options are the test's. */
export function newClinic<B extends BucketDoc>(
  repo: Repo,
  init: Omit<CreateClinicInit<B>, 'clinic' | 'emptyBucket'>,
): ClinicStore<B> {
  return ClinicStore.create<B>(repo, { clinic: 'c1', emptyBucket: () => ({ charts: {} }) as B, ...init })
}
