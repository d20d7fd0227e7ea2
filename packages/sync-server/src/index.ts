export { GuardedSyncServer } from './guarded-sync-server.js'
export type { GuardedSyncServerInit, SyncServerLog } from './guarded-sync-server.js'
export { DROP, PASS, allowAll } from './policy.js'
export type { Admission, RefusedWrite, SyncServerPolicy } from './policy.js'
export { checkSyncMessage } from './sync-message.js'
export type { SyncMessage } from './sync-message.js'
export { closeReason } from './close-reason.js'
export {
  DEFAULT_KEEPALIVE_MS,
  DEFAULT_MAX_PAYLOAD,
  NOT_SERVING_CLOSE_CODE,
  PROTOCOL_ERROR_CLOSE_CODE,
  RECONNECT_CLOSE_CODE,
  REFUSAL_TYPE,
  SYNC_REFUSED_CLOSE_CODE,
} from './constants.js'
export { MalformedSyncMessageError, PeerMismatchError } from './errors.js'
