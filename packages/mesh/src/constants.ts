/** libp2p protocol id of the sync stream. A breaking change to the wire format bumps the major version. */
export const SYNC_PROTOCOL = '/clinic-mesh/sync/1.0.0'

/** Version carried inside the handshake frame; must equal the major of SYNC_PROTOCOL. */
export const WIRE_VERSION = 1

/**
 * Minor revision of wire version 1, sent as `minor` in the handshake. 1: `chunk` frames (a message above the frame
 * cap is sent in pieces). 2: `piece` frames and the handshake's `resume` (a message cut by a dropped link resumes
 * where it stopped). A sender uses a newer frame kind only with a peer whose handshake names that minor.
 */
export const WIRE_MINOR = 2

/**
 * Towards a 1.2 peer, a message above this many bytes travels as `piece` frames of at most this size: what arrived
 * of it before a link drops is kept and not sent again (at 256 kbit/s, 16 KiB is half a second of link).
 */
export const DEFAULT_PIECE_BYTES = 16 * 1024

/** Default largest accepted frame payload (16 MiB). */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024

/** Default largest message reassembled from `chunk` frames (128 MiB): a chunk stream announcing more is refused. */
export const DEFAULT_MAX_MESSAGE_BYTES = 128 * 1024 * 1024

/**
 * Default bound of one session's send queue (bytes of frames accepted but not yet taken by the stream). Above it the
 * session stops taking messages from the repo for that peer and has the repo resync once the queue has drained.
 */
export const DEFAULT_MAX_QUEUE_BYTES = 8 * 1024 * 1024

/** A frame length prefix is an unsigned LEB128 varint of at most this many bytes (covers 2^35 - 1). */
export const MAX_VARINT_BYTES = 5

/** Frame kinds: first byte of every frame payload. */
export const FrameKind = {
  handshake: 0x01,
  message: 0x02,
  bye: 0x03,
  chunk: 0x04,
  piece: 0x05,
} as const
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind]

/** How long a stream may stay open without a handshake from the remote. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000

/** Reconnection backoff after a link drops. */
export const DEFAULT_BACKOFF = { initialMs: 250, maxMs: 30_000, factor: 2 } as const

/**
 * yamux stream window. @libp2p/pnet needed ≤ 512 KiB (its xsalsa20 WASM ran out of memory on bigger writes); the
 * clinic private network has no such limit, so this only bounds what one stream may buffer at the receiver.
 */
export const YAMUX_WINDOW = 4 * 1024 * 1024
