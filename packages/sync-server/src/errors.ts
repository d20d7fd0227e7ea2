import { ClinicMeshError } from '@clinic-mesh/contracts'

/**
 * A message on a `/sync` WebSocket that is not an automerge-repo message (not CBOR, not a message object, ids that
 * are not short strings, `data` that is not bytes, a text frame): the socket is closed with this name.
 */
export class MalformedSyncMessageError extends ClinicMeshError {
  constructor(message: string) {
    super('MalformedSyncMessageError', message)
  }
}

/** A socket speaks as another peer than the one it may (refused by the policy's `join`) or did join as. */
export class PeerMismatchError extends ClinicMeshError {
  constructor(message: string) {
    super('PeerMismatchError', message)
  }
}
