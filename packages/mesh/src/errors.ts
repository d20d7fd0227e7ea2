import { ClinicMeshError } from '@clinic-mesh/contracts'

/** A frame announced a length above the configured maximum; the stream is reset before the body is read. */
export class FrameTooLargeError extends ClinicMeshError {
  constructor(message: string) {
    super('FrameTooLargeError', message)
  }
}

/** A chunked message announced (or grew to) more than the configured maximum message size; the stream is reset. */
export class MessageTooLargeError extends ClinicMeshError {
  constructor(message: string) {
    super('MessageTooLargeError', message)
  }
}

/** Bytes that do not decode as a frame, a handshake or an automerge-repo message; the stream is reset. */
export class MalformedFrameError extends ClinicMeshError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MalformedFrameError', message, options)
  }
}

/** The handshake was missing, late, of an unknown version or inconsistent with the connection. */
export class HandshakeError extends ClinicMeshError {
  constructor(message: string) {
    super('HandshakeError', message)
  }
}

/** A signed membership record (enrolment, revocation) failed verification. */
export class InvalidSignatureError extends ClinicMeshError {
  constructor(message: string) {
    super('InvalidSignatureError', message)
  }
}

/** A membership record belongs to another clinic or is otherwise not acceptable. */
export class MembershipRecordError extends ClinicMeshError {
  constructor(message: string) {
    super('MembershipRecordError', message)
  }
}

/** A join exchange failed: wrong code, expired code, tampered message. */
export class JoinError extends ClinicMeshError {
  constructor(message: string) {
    super('JoinError', message)
  }
}

/** The peer was refused because the device is not enrolled, is revoked, or the mesh is disabled. */
export class PeerRefusedError extends ClinicMeshError {
  constructor(message: string) {
    super('PeerRefusedError', message)
  }
}

/** The mesh node was stopped or the adapter disconnected while an operation was pending. */
export class MeshClosedError extends ClinicMeshError {
  constructor(message: string) {
    super('MeshClosedError', message)
  }
}

/** A peer opened a private-network connection with a salt we cannot accept (reflected or truncated). */
export class PrivateNetworkError extends ClinicMeshError {
  constructor(message: string) {
    super('PrivateNetworkError', message)
  }
}
