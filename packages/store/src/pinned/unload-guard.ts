import { Repo, type DocHandle } from '@automerge/automerge-repo'

/**
 * Before a held document is unloaded (`repo.removeFromCache`), stop the repo saving it on `heads-changed`.
 * automerge-repo 2.5 unloads a handle by swapping in an empty document, which the handle reports as new heads; the
 * repo's save listener would then save that empty document over the stored one (a compaction deletes the bucket's
 * chunks: join-release.test.ts loses buckets without this). Nothing else listens to a held bucket's heads-changed.
 */
export function detachSaveBeforeUnload(handle: DocHandle<unknown>): void {
  handle.removeAllListeners('heads-changed')
}

/** The internals this relies on, as found (see `pinned-hooks.test.ts`). */
export function unloadGuardInternals(): Record<string, boolean> {
  const repoSource = String(Repo)
  return {
    'the repo saves a document on its heads-changed': /\.on\("heads-changed", this\.#saveFn\)/.test(
      repoSource,
    ),
    'repo.removeFromCache':
      typeof (Repo.prototype as { removeFromCache?: unknown }).removeFromCache === 'function',
  }
}
