import type { DocHandle } from '@automerge/automerge-repo'
import type { BucketDoc } from './bucket-doc.js'
import { releaseLatestPatches } from './pinned/release-patches.js'
import { putWhole } from './pinned/whole-puts.js'
import type { BulkWrite } from './store-init.js'

/**
 * One bucket's part of `ClinicStore.changeMany`: the new charts the writes offer whole (`BulkWrite.fresh`, for patients
 * the bucket does not hold) in one change whose JS view is materialized (`putWhole`), then every other write's `fn`
 * in one change, in order. A patient written twice has its first write put whole, the later ones run as `fn` on it.
 */
export function changeBucket<B extends BucketDoc>(
  handle: DocHandle<B>,
  list: readonly BulkWrite<B>[],
  options: { message?: string },
): void {
  const held = handle.doc().charts
  const whole = new Map<string, unknown>()
  const rest: BulkWrite<B>[] = []
  for (const w of list) {
    const chart =
      w.fresh && held[w.patientId] === undefined && !whole.has(w.patientId) ? w.fresh() : undefined
    if (chart === undefined) rest.push(w)
    else whole.set(w.patientId, chart)
  }
  if (whole.size > 0) {
    putWhole(handle, 'charts', [...whole], options)
    releaseLatestPatches(handle.doc()) // the change event has its patches (changeMany releases the last change's)
  }
  if (rest.length > 0)
    handle.change((d) => {
      for (const w of rest) w.fn(d)
    }, options)
}
