import { cbor } from '@automerge/automerge-repo/slim'
import type { DocumentId, PeerId } from '@automerge/automerge-repo/slim'
import { MalformedSyncMessageError } from './errors.js'

const MAX_ID = 200

/** An automerge-repo network message as it arrives from a client, after the envelope check. */
export interface SyncMessage {
  readonly type: string
  readonly senderId: PeerId
  readonly targetId?: PeerId
  readonly documentId?: DocumentId
  readonly data?: Uint8Array
  readonly [field: string]: unknown
}

/**
 * Decodes and checks the envelope of an automerge-repo network message before anything else sees it (the stock
 * server adapter closes the socket on undecodable bytes but throws inside the socket's handler on `null`, and
 * ignores other shapes silently). Returns the message or throws MalformedSyncMessageError.
 */
export function checkSyncMessage(bytes: Uint8Array): SyncMessage {
  let m: unknown
  try {
    m = cbor.decode(bytes)
  } catch {
    throw new MalformedSyncMessageError('not CBOR')
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m) || m instanceof Uint8Array)
    throw new MalformedSyncMessageError('not a message object')
  const r = m as Record<string, unknown>
  const id = (k: string, required: boolean): void => {
    const v = r[k]
    if (v === undefined && !required) return
    if (typeof v !== 'string' || v === '' || v.length > MAX_ID)
      throw new MalformedSyncMessageError(`${k} must be a string of 1..${MAX_ID} characters`)
  }
  id('type', true)
  id('senderId', true)
  id('targetId', false)
  id('documentId', false)
  if (r.data !== undefined && !(r.data instanceof Uint8Array))
    throw new MalformedSyncMessageError('data must be bytes')
  if (r.type === 'join') {
    const versions = r.supportedProtocolVersions
    if (versions !== undefined && !(Array.isArray(versions) && versions.every((v) => typeof v === 'string')))
      throw new MalformedSyncMessageError('supportedProtocolVersions must be a list of strings')
    const meta = r.peerMetadata
    if (meta !== undefined && (typeof meta !== 'object' || meta === null || Array.isArray(meta)))
      throw new MalformedSyncMessageError('peerMetadata must be an object')
  }
  return m as SyncMessage
}
