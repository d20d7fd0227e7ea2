import type { AnyDocumentId, DocHandle, Repo } from '@automerge/automerge-repo'

/**
 * Find a document and, when neither storage nor a peer has it yet, keep waiting until a peer that holds it
 * syncs it to us (the relay never announces, so a document arrives when its clinic's device sends it).
 */
export async function findDoc<T>(repo: Repo, id: AnyDocumentId, signal: AbortSignal): Promise<DocHandle<T>> {
  const handle = await repo.find<T>(id, { allowableStates: ['ready', 'unavailable'], signal })
  if (!handle.isReady()) await handle.whenReady(['ready'], { signal })
  return handle
}

/** Like findDoc but gives up after `ms` (used at startup, when documents should come from local storage). */
export async function findDocWithin<T>(
  repo: Repo,
  id: AnyDocumentId,
  ms: number,
  signal: AbortSignal,
): Promise<DocHandle<T> | null> {
  const timeout = AbortSignal.any([signal, AbortSignal.timeout(ms)])
  try {
    return await findDoc<T>(repo, id, timeout)
  } catch (err) {
    if (signal.aborted) throw err
    return null
  }
}
