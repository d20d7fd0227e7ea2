import { cbor } from '@automerge/automerge-repo/slim'
import { ClinicMeshError } from '@clinic-mesh/contracts'

/** A message on an automerge-repo WebSocket (`/sync` of a device node or the relay) that is not an automerge-repo message: the socket is closed with this name. */
export class MalformedSyncMessageError extends ClinicMeshError {
  constructor(message: string) {
    super('MalformedSyncMessageError', message)
  }
}

/** WebSocket close code for a refused message (1008: policy violation); the reason starts with the error name. */
export const SYNC_REFUSED_CLOSE_CODE = 1008
const MAX_ID = 200

/**
 * Checks the envelope of an automerge-repo network message before the stock server adapter sees it (that adapter
 * closes the socket on undecodable bytes but throws inside the socket's handler on `null`, and ignores other
 * shapes silently). Returns the claimed sender or throws MalformedSyncMessageError.
 */
export function checkSyncMessage(bytes: Uint8Array): { senderId: string } {
  let m: unknown
  try {
    m = cbor.decode(bytes)
  } catch {
    throw new MalformedSyncMessageError('not CBOR')
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m) || m instanceof Uint8Array) throw new MalformedSyncMessageError('not a message object')
  const r = m as Record<string, unknown>
  const id = (k: string, required: boolean): void => {
    const v = r[k]
    if (v === undefined && !required) return
    if (typeof v !== 'string' || v === '' || v.length > MAX_ID) throw new MalformedSyncMessageError(`${k} must be a string of 1..${MAX_ID} characters`)
  }
  id('type', true)
  id('senderId', true)
  id('targetId', false)
  id('documentId', false)
  if (r.data !== undefined && !(r.data instanceof Uint8Array)) throw new MalformedSyncMessageError('data must be bytes')
  return { senderId: r.senderId as string }
}
