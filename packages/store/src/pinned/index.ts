import type { Repo } from '@automerge/automerge-repo'
import { fastLoadInternals, installFastLoad } from './fast-load.js'
import { headsMemoInternals, memoizeHeadsEncoding } from './heads-memo.js'
import { releasePatchesInternals } from './release-patches.js'
import { saveHoldInternals } from './save-hold.js'
import { reuseSyncPatches, setFreshSync, syncPatchesInternals } from './sync-patches.js'
import { unloadGuardInternals } from './unload-guard.js'
import { installWholePuts, setWholePuts, wholePutsInternals } from './whole-puts.js'

/**
 * The one place this project reaches into Automerge's and automerge-repo's internals, each for a figure measured
 * without it (issue 17):
 * - `fast-load.ts`: documents from storage built as `A.load` does, not through patches (cold start: every bucket of
 *   10,000 charts in 5.0 s instead of 26.4 s, bench P11);
 * - `sync-patches.ts`: a DocHandle reuses the patches of an applied sync message instead of diffing again (a joining
 *   repo allocated 42 % less, ~1 GB less for 4,000 charts; automerge 3.5.0 still records no `before` heads there),
 *   and a sync message into an empty document builds it as `A.load` does, not through patches (a bucket of 10 charts:
 *   ~11 ms instead of ~30; bench P13, today's buckets on a joining tablet);
 * - `release-patches.ts`: the patches Automerge keeps beside a document once automerge-repo used them (about half
 *   of a bucket's JS heap);
 * - `unload-guard.ts`: a bucket released to storage is not saved empty over itself (join-release.test.ts);
 * - `heads-memo.ts`: automerge-repo's base58check encoding of heads, recomputed on every comparison (DocHandle,
 *   StorageSubsystem), memoized (~15-18 % of a relay's CPU at 1,000 clinics, bench P12; encodeHeads of a head 4 times:
 *   ~50 µs stock, ~24 µs memoized; misses and document-id decodes checksummed by node:crypto). Node only. The relay
 *   installs only this one (`memoizeHeadsEncoding`).
 * - `whole-puts.ts`: a change putting new charts whole (a bulk import) builds its JS view by materializing them, not
 *   one patch per value (~0.8 → ~0.4 ms a chart in Automerge alone; bench P15, 10,000 charts through `POST /fhir`).
 * - `save-hold.ts`: a joining tablet's today buckets saved once all of them are local, not each in the middle of the
 *   pull (bench P13: ~10 % of the joiner's CPU until today's buckets were local).
 * Pinned to these versions: `pinned-hooks.test.ts` fails when an upgrade changes them (re-measure, then re-pin or
 * drop the hook). If an internal is missing at run time, its hook does not install and behaviour stays stock.
 */
export const AUTOMERGE_PINNED = { automerge: '3.5.0', 'automerge-repo': '2.5.6' } as const

/** Every internal the hooks rely on, as found: all must be true (the test checks it). */
export function automergeHookInternals(repo: Repo): Record<string, boolean> {
  const prefixed = (prefix: string, r: Record<string, boolean>): Record<string, boolean> =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [`${prefix}: ${k}`, v]))
  return {
    ...prefixed('fast load', fastLoadInternals(repo)),
    ...prefixed('sync patches', syncPatchesInternals()),
    ...prefixed('release patches', releasePatchesInternals()),
    ...prefixed('unload guard', unloadGuardInternals()),
    ...prefixed('heads memo', headsMemoInternals()),
    ...prefixed('whole puts', wholePutsInternals()),
    ...(repo.storageSubsystem ? prefixed('save hold', saveHoldInternals(repo)) : {}),
  }
}

/**
 * Installs the hooks for `repo` (idempotent; `fastLoad: false` leaves loads stock, `freshSync: false` sync messages
 * into empty documents, `wholePuts: false` a bulk write's new charts: baselines; process-wide).
 */
export function installAutomergeHooks(
  repo: Repo,
  opts: { fastLoad?: boolean; freshSync?: boolean; wholePuts?: boolean } = {},
): void {
  reuseSyncPatches()
  memoizeHeadsEncoding()
  if (opts.freshSync !== undefined) setFreshSync(opts.freshSync)
  if (opts.fastLoad !== false && repo.storageSubsystem) installFastLoad(repo)
  if (opts.wholePuts !== undefined) setWholePuts(opts.wholePuts)
  installWholePuts()
}

export { fastLoadCount } from './fast-load.js'
export { detachSaveBeforeUnload } from './unload-guard.js'
export { putWhole, wholePutCount } from './whole-puts.js'
export { holdSaves, SAVE_HOLD_MAX_MS } from './save-hold.js'
