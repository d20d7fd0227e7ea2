import type { AnyDocumentId, DocHandle, Repo } from '@automerge/automerge-repo'

/**
 * Find a document and, when neither storage nor a peer has it yet, keep waiting until a peer that holds it
 * syncs it to us (the relay never announces, so a document arrives when its clinic's device sends it), or another
 * relay instance stores it. `signal` ends only our wait: it is not handed to the repo, whose own search would
 * otherwise end in rejections nobody awaits and a "failed" search it keeps for the next `find`.
 */
export async function findDoc<T>(repo: Repo, id: AnyDocumentId, signal: AbortSignal): Promise<DocHandle<T>> {
  const handle = await until(repo.find<T>(id, { allowableStates: ['ready', 'unavailable'] }), signal)
  if (!handle.isReady()) await until(handle.whenReady(['ready']), signal)
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

/** `p`, or the signal's reason once it aborts first. */
function until<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortReason(signal))
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal))
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort)
        resolve(v)
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(err instanceof Error ? err : new Error(String(err)))
      },
    )
  })
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted')
}
