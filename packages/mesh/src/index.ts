export { createMeshNode, MeshNode } from './node.js'
export type { MeshInit } from './mesh-init.js'
export { MeshNetworkAdapter } from './adapter.js'
export { LinkWatch, LINK_PING_PROTOCOL, DEFAULT_LINK_WATCH } from './link-watch.js'
export type { LinkWatchPolicy } from './link-watch.js'
export type { AdapterOptions, TrafficEvent, TrafficTotals } from './adapter.js'
export { PeersEvent, StreamErrorEvent, RefusedEvent, AddressesEvent } from './events.js'
export { AddressBook, ADDRESS_BOOK_MAX_PER_PEER } from './address-book.js'
export type { FoundBy } from './address-book.js'
export type { AloneReason, MeshDiscoveryStatus } from './discovery-status.js'
export { LanDiscovery, lanDiscovery, lanInterfaces, isLinkLocalIPv4 } from './discovery/index.js'
export type {
  LanDiscoveryInit,
  LanDiscoveryStatus,
  LanInterface,
  LinkSocketState,
} from './discovery/index.js'
export type { MeshPeer, MeshEventMap } from './events.js'
export {
  SYNC_PROTOCOL,
  WIRE_VERSION,
  WIRE_MINOR,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_QUEUE_BYTES,
  DEFAULT_PIECE_BYTES,
  FrameKind,
} from './constants.js'
export { encodeFrame, FrameDecoder } from './frame-codec.js'
export { chunkPayload, ChunkAssembler } from './chunks.js'
export { piecePayload, pieceId, PieceAssembler } from './pieces.js'
export type { PartialMessage, ResumePoint } from './pieces.js'
export type { SendQueueStats } from './send-queue-stats.js'
export { encodeWire, decodeWire } from './wire.js'
export type { Handshake, WireFrame } from './wire.js'
export { Membership, MembershipChangeEvent } from './membership/membership.js'
export type { MembershipInit, MembershipUpdate, UpdateReport } from './membership/membership.js'
export { RevocationFile } from './membership/revocation-file.js'
export {
  generateAdminKey,
  signEnrolment,
  signRevocation,
  verifyEnrolment,
  verifyRevocation,
} from './membership/records.js'
export type { Enrolment, Revocation, AdminKeyPair, EnrolInput, RevokeInput } from './membership/records.js'
export { reachSigningBytes, signReach, verifyReach } from './membership/reach.js'
export type { ReachClaim, ReachInput } from './membership/reach.js'
export {
  RELAY_IDENTITY_NONCE,
  relayIdentityBytes,
  relayProofBytes,
  signRelayIdentity,
  signRelayProof,
  verifyRelayIdentity,
  verifyRelayProof,
} from './membership/relay-auth.js'
export type { Ed25519VerifyFn, RelayProof, RelayProofKind } from './membership/relay-auth.js'
export { clinicNetworkKey } from './membership/psk.js'
export { clinicPrivateNetwork, SALT_BYTES } from './membership/private-network.js'
export { createJoinCode, normalizeJoinCode, JoinPakeClient, joinPakeRespond } from './membership/join-code.js'
export type { JoinCode, JoinHello, JoinKeys } from './membership/join-code.js'
export { JoinAdmin, JoinClient } from './membership/join.js'
export type { JoinAdminInit, JoinBundle, JoinRequest, JoinWelcome } from './membership/join.js'
export {
  FrameTooLargeError,
  MalformedFrameError,
  MessageTooLargeError,
  HandshakeError,
  InvalidSignatureError,
  MembershipRecordError,
  JoinError,
  PeerRefusedError,
  MeshClosedError,
  PrivateNetworkError,
} from './errors.js'
