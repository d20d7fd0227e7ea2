import type { AnyDocumentId, DocHandle, Repo } from '@automerge/automerge-repo'

/**
 * Finds a document and, where no connected peer has it yet, keeps waiting for one that does rather than
 * failing: a new tablet opening its clinic may not have met any peer yet. Bounded by `signal`.
 */
export async function findDoc<T>(
  repo: Repo,
  id: AnyDocumentId,
  options: { signal?: AbortSignal } = {},
): Promise<DocHandle<T>> {
  const handle = await repo.find<T>(id, { allowableStates: ['ready', 'unavailable'], ...options })
  if (handle.state !== 'ready')
    await handle.whenReady(['ready'], options.signal ? { signal: options.signal } : undefined)
  return handle
}

/**
 * `repo.flush()` of the documents that are ready. automerge-repo 2.5's flush (and so `repo.shutdown()`) rejects with
 * "DocHandle is not ready" as soon as one document is still loading or being asked of a peer that never answers, and
 * stops waiting for the others' saves; a document that never loaded has nothing to save.
 */
export async function flushReady(repo: Repo): Promise<void> {
  const ready = Object.values(repo.handles).filter((h) => h.isReady())
  await repo.flush(ready.map((h) => h.documentId))
}
