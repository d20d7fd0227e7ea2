import type { StorageAdapterInterface } from '@automerge/automerge-repo'

/** Documents whose local copy holds a change the device node refused: dropped at the next start (sessionStorage). */
const DROP_KEY = 'clinic-mesh.refused.drop'

/**
 * Marks a document's local copy to be dropped before the repo opens it again (at the next page load). Dropping it
 * while the repo runs races with the repo's own debounced save: a save after the removal writes the refused change
 * alone, without the history it depends on, and the reloaded page cannot show the chart.
 */
export function markForDrop(documentId: string): void {
  const ids = new Set(marked())
  ids.add(documentId)
  sessionStorage.setItem(DROP_KEY, JSON.stringify([...ids]))
}

/** Removes every marked document's chunks (snapshots, changes, sync states) from `storage`: run before `new Repo`. */
export async function dropMarked(storage: StorageAdapterInterface): Promise<void> {
  const ids = marked()
  for (const id of ids) await storage.removeRange([id])
  if (ids.length) sessionStorage.removeItem(DROP_KEY)
}

function marked(): string[] {
  try {
    const raw = JSON.parse(sessionStorage.getItem(DROP_KEY) ?? '[]') as unknown
    return Array.isArray(raw) ? raw.filter((x): x is string => typeof x === 'string') : []
  } catch {
    return []
  }
}
