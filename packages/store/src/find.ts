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
