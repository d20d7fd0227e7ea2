import type { Repo } from '@automerge/automerge-repo'

/** How long an open may take before it is reported and the connection to the device node is remade. */
export const SLOW_OPEN_MS = 15_000

/**
 * Watches an open of the clinic in the browser's repo: every `everyMs` while it runs, it says in the console which
 * documents it still waits for (their ids' first characters and states: no content) and whether the device node is
 * a peer, and — when it waits for documents and the node is connected — calls `resync`, which remakes the
 * connection so the repo asks the node again (automerge-repo repeats neither an unanswered request nor one answered
 * "unavailable" on the same connection; seen under load: an open waiting over a minute for documents the node had).
 * Returns the function that stops the watch.
 */
export function watchOpen(
  repo: Pick<Repo, 'handles' | 'peers'>,
  options: { resync?: () => void; everyMs?: number; warn?: (line: string) => void; state: () => string },
): () => void {
  const everyMs = options.everyMs ?? SLOW_OPEN_MS
  const warn = options.warn ?? ((line: string) => console.warn(line))
  const timer = setInterval(() => {
    const waiting = Object.entries(repo.handles)
      .filter(([, h]) => !h.isReady())
      .map(([id, h]) => `${id.slice(0, 6)}:${h.state}`)
    const peers = repo.peers.length
    const resync = waiting.length > 0 && peers > 0 ? options.resync : undefined
    warn(
      `clinic-open-slow: still ${options.state()} after ${everyMs / 1000} s more; peers ${peers}; ` +
        `documents not ready: ${waiting.join(' ') || 'none'}${resync ? '; reconnecting to the device node' : ''}`,
    )
    resync?.()
  }, everyMs)
  return () => clearInterval(timer)
}
