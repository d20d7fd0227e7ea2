/** WebSocket close code for a refused message (1008: policy violation); the reason starts with the error name. */
export const SYNC_REFUSED_CLOSE_CODE = 1008

/** Close code for a socket that arrives while the adapter is not connected to a repo (1013: try again later). */
export const NOT_SERVING_CLOSE_CODE = 1013

/** Close code for a socket the server ends for the peer to reconnect (1012: service restart), e.g. at another instance. */
export const RECONNECT_CLOSE_CODE = 1012

/** Close code after the stock `error` message for a join without a protocol version this server speaks (1002). */
export const PROTOCOL_ERROR_CLOSE_CODE = 1002

/** Largest frame a socket may send (bigger ones are closed 1009 by `ws` from the frame header alone). */
export const DEFAULT_MAX_PAYLOAD = 64 * 1024 * 1024

/** Sockets that answer no ping within this interval are terminated (the stock server adapter's default). */
export const DEFAULT_KEEPALIVE_MS = 5_000

/** `type` of the ephemeral refusal message: its shape is the contract's (`@clinic-mesh/contracts` RefusalMessageSchema). */
export { REFUSAL_TYPE } from '@clinic-mesh/contracts'

/** A WebSocket close reason is at most 123 bytes of UTF-8. */
export const MAX_CLOSE_REASON_BYTES = 123
