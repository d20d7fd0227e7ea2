import { cbor } from '@automerge/automerge-repo/slim'
import { WebSocketServerAdapter } from '@automerge/automerge-repo-network-websocket'
import { ClinicMeshError } from '@clinic-mesh/contracts'
import type { WebSocket, WebSocketServer } from 'ws'
import type { Logger } from './logger.js'
import { stderrLogger } from './logger.js'

/** (Same check as apps/device/src/sync-guard.ts; the two apps share no code.) A `/sync` WebSocket message that is not an automerge-repo message: the socket is closed with this name. */
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
 * shapes silently). Returns nothing or throws MalformedSyncMessageError.
 */
export function checkSyncMessage(bytes: Uint8Array): void {
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
}

type Socket = Parameters<WebSocketServerAdapter['receiveMessage']>[1]

/** The stock server adapter with every message checked first: a malformed one closes that socket (1008, named). */
export class GuardedSyncAdapter extends WebSocketServerAdapter {
  readonly #log: Logger
  constructor(wss: WebSocketServer, logger: Logger = stderrLogger) {
    super(wss)
    this.#log = logger
    // a socket error (e.g. a frame announcing more than maxPayload: ws closes with 1009) ends that socket only
    wss.on('connection', (ws: WebSocket) => ws.on('error', (err: Error & { code?: string }) => logger('sync-socket-error', { error: err.name, code: err.code ?? null })))
  }

  override receiveMessage(messageBytes: Uint8Array, socket: Socket): void {
    try {
      checkSyncMessage(messageBytes)
    } catch (err) {
      const name = err instanceof Error ? err.name : 'Error'
      this.#log('sync-message-refused', { error: name, message: err instanceof Error ? err.message : '' })
      socket.close(SYNC_REFUSED_CLOSE_CODE, `${name}: ${err instanceof Error ? err.message : ''}`.slice(0, 120))
      return
    }
    super.receiveMessage(messageBytes, socket)
  }
}
