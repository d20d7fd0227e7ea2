import { decodeSyncMessage } from '@automerge/automerge'
import type { Message, PeerId } from '@automerge/automerge-repo/slim'
import {
  PASS,
  PeerMismatchError,
  type Admission,
  type SyncMessage,
  type SyncServerPolicy,
} from '@clinic-mesh/sync-server'
import { ForbiddenWriteError } from './errors.js'

/** Sync messages carry Automerge sync data (heads, bloom filters and possibly changes). */
const SYNC_TYPES = new Set(['sync', 'request'])

/** The number of Automerge changes a sync message carries for `documentId`, if it is a sync message for one. */
function changesFor(m: SyncMessage): { documentId: string; changes: number } | null {
  if (!SYNC_TYPES.has(m.type) || typeof m.documentId !== 'string' || !(m.data instanceof Uint8Array))
    return null
  let changes: number
  try {
    changes = decodeSyncMessage(m.data).changes.length
  } catch {
    changes = 1 // undecodable sync data for a relay-only document is refused like a write
  }
  return { documentId: m.documentId, changes }
}

/**
 * The relay's `/sync` policy for the guarded server adapter of `@clinic-mesh/sync-server`. A socket's context is the
 * peer that proved its device key when the socket was opened (see Relay, upgrade): the socket joins only as that
 * peer, and a message carrying changes to a document only the relay writes (settled inventory, conflict queue)
 * closes the socket (1008 ForbiddenWriteError) and never reaches the repo. What a peer receives is decided by the
 * repo's share policy (AccessMap), not here.
 */
export class RelaySyncPolicy implements SyncServerPolicy<string> {
  readonly #relayOnly: (documentId: string) => boolean

  constructor(relayOnly: (documentId: string) => boolean = () => false) {
    this.#relayOnly = relayOnly
  }

  join(peerId: PeerId, peer: string): void {
    if (peerId !== peer) throw new PeerMismatchError(`socket authenticated as ${peer} sent as ${peerId}`)
  }

  admit(m: SyncMessage, peer: string): Admission {
    const sync = changesFor(m)
    if (sync && sync.changes > 0 && this.#relayOnly(sync.documentId)) {
      return {
        verdict: 'close',
        error: new ForbiddenWriteError(
          `peer ${peer} sent ${sync.changes} change(s) to ${sync.documentId}, a document only the relay writes`,
        ),
      }
    }
    return PASS
  }

  deliver(_message: Message): boolean {
    return true
  }

  peerOf(peer: string): string {
    return peer
  }
}
