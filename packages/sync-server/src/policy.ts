import type { Message, PeerId } from '@automerge/automerge-repo/slim'
import type { RefusalMessage } from '@clinic-mesh/contracts'
import type { SyncMessage } from './sync-message.js'

/** One write of a refused message, as the client is told about it (a path in the document and the value sent). */
export type RefusedWrite = Readonly<RefusalMessage['writes'][number]>

/**
 * What the server does with a message, decided by the policy's `admit`:
 * - `pass`: the repo receives it;
 * - `drop`: nobody hears of it;
 * - `close`: the socket is closed `1008` with the error's name (the sender loses its connection);
 * - `unavailable`: the sender is answered `doc-unavailable` for the message's document (a read it may not make);
 * - `refuse`: the sender receives an ephemeral `clinic-mesh/refused` message on that document (a write it may not
 *   make), naming the error and the writes.
 */
export type Admission =
  | { readonly verdict: 'pass' }
  | { readonly verdict: 'drop' }
  | { readonly verdict: 'close'; readonly error: Error }
  | { readonly verdict: 'unavailable'; readonly error: Error }
  | { readonly verdict: 'refuse'; readonly error: Error; readonly writes?: readonly RefusedWrite[] }

export const PASS: Admission = { verdict: 'pass' }
export const DROP: Admission = { verdict: 'drop' }

/**
 * What differs between the servers that use the guarded adapter. `C` is what the application learned when it
 * accepted the socket's upgrade (a session, an authenticated peer): the adapter keeps it with the socket and hands
 * it to every call.
 */
export interface SyncServerPolicy<C> {
  /** A socket asks to join as `peerId`: throw a named error to close it (`1008`, the error's name first). */
  join(peerId: PeerId, context: C): void
  /**
   * Every other message of a joined socket, in arrival order: the next message of that socket waits for this
   * verdict. A throw drops the message (logged `sync-admit-failed`); the socket stays open.
   */
  admit(message: SyncMessage, context: C): Admission | Promise<Admission>
  /**
   * A message the repo sends to the peer of a socket opened with `context`: `false` withholds it; an error closes the
   * socket `1008` with the error's name (e.g. the session behind it ended: the client reconnects with its current one
   * instead of waiting on a socket that silently hears nothing).
   */
  deliver(message: Message, context: C): boolean | Error
  /** For the log: the peer the socket authenticated as, before it joined. */
  peerOf?(context: C): string | undefined
}

/** A policy that lets every peer join and every message through (tests, trusted networks). */
export const allowAll: SyncServerPolicy<unknown> = {
  join: () => undefined,
  admit: () => PASS,
  deliver: () => true,
}
