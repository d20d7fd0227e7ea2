import { cbor } from '@automerge/automerge-repo'
import type { Message, PeerId, PeerMetadata } from '@automerge/automerge-repo'
import { FrameKind, WIRE_VERSION } from './constants.js'
import { HandshakeError, MalformedFrameError } from './errors.js'
import { PIECE_ID_BYTES, type ResumePoint } from './pieces.js'

/** First frame each side sends on a sync stream. */
export interface Handshake {
  v: number
  /** automerge-repo peer id of the sending repo */
  peerId: PeerId
  peerMetadata: PeerMetadata
  /** human name of the device, e.g. "Triage tablet 2" */
  deviceName: string
  /** minor revision of the wire (WIRE_MINOR); absent from 1.0 peers. 1: understands `chunk` frames */
  minor?: number
  /** the largest frame payload the sender accepts (its `maxFrameBytes`); absent from 1.0 peers */
  frameCap?: number
  /**
   * (wire 1.2) the message the sender was receiving in `piece` frames from this device when their previous stream
   * ended: its id and how many bytes of it the sender holds. Sending that message again, start there.
   */
  resume?: ResumePoint
}

export type WireFrame =
  | { kind: 'handshake'; handshake: Handshake }
  | { kind: 'message'; message: Message }
  | { kind: 'bye'; reason: string }

function withKind(kind: FrameKind, body: unknown): Uint8Array {
  const encoded = cbor.encode(body)
  const out = new Uint8Array(1 + encoded.byteLength)
  out[0] = kind
  out.set(encoded, 1)
  return out
}

/** Frame payloads: one kind byte followed by a CBOR map. Pure. */
export function encodeWire(frame: WireFrame): Uint8Array {
  switch (frame.kind) {
    case 'handshake':
      return withKind(FrameKind.handshake, frame.handshake)
    case 'message':
      return withKind(FrameKind.message, frame.message)
    case 'bye':
      return withKind(FrameKind.bye, { reason: frame.reason })
  }
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array)
}

function decodeBody(payload: Uint8Array): Record<string, unknown> {
  let body: unknown
  try {
    body = cbor.decode(payload.subarray(1))
  } catch (err) {
    throw new MalformedFrameError('frame body is not valid CBOR', { cause: err })
  }
  if (!isRecord(body)) throw new MalformedFrameError('frame body is not a CBOR map')
  return body
}

/** A peer's announced frame cap below this is ignored (no chunk could carry anything useful). */
const MIN_FRAME_CAP = 64

function decodeHandshake(body: Record<string, unknown>): Handshake {
  const { v, peerId, peerMetadata, deviceName, minor, frameCap, resume } = body
  if (v !== WIRE_VERSION)
    throw new HandshakeError(`unsupported wire version ${String(v)}, expected ${WIRE_VERSION}`)
  if (typeof peerId !== 'string' || peerId.length === 0 || peerId.length > 256) {
    throw new MalformedFrameError('handshake peerId must be a non-empty string of ≤ 256 chars')
  }
  if (typeof deviceName !== 'string' || deviceName.length > 256) {
    throw new MalformedFrameError('handshake deviceName must be a string of ≤ 256 chars')
  }
  const meta: PeerMetadata = {}
  if (peerMetadata !== undefined && peerMetadata !== null) {
    if (!isRecord(peerMetadata)) throw new MalformedFrameError('handshake peerMetadata must be a map')
    if (typeof peerMetadata.storageId === 'string')
      meta.storageId = peerMetadata.storageId as PeerMetadata['storageId']
    if (typeof peerMetadata.isEphemeral === 'boolean') meta.isEphemeral = peerMetadata.isEphemeral
  }
  const hs: Handshake = { v, peerId: peerId as PeerId, peerMetadata: meta, deviceName }
  // optional keys (wire 1.1): anything unusable is ignored, as unknown keys are
  if (typeof minor === 'number' && Number.isSafeInteger(minor) && minor >= 0) hs.minor = minor
  if (typeof frameCap === 'number' && Number.isSafeInteger(frameCap) && frameCap >= MIN_FRAME_CAP)
    hs.frameCap = frameCap
  if (
    isRecord(resume) &&
    resume.id instanceof Uint8Array &&
    resume.id.byteLength === PIECE_ID_BYTES &&
    typeof resume.bytes === 'number' &&
    Number.isSafeInteger(resume.bytes) &&
    resume.bytes > 0
  )
    hs.resume = { id: new Uint8Array(resume.id), bytes: resume.bytes }
  return hs
}

function decodeMessage(body: Record<string, unknown>): Message {
  const { type, senderId, targetId, data } = body
  if (typeof type !== 'string' || typeof senderId !== 'string' || typeof targetId !== 'string') {
    throw new MalformedFrameError('message needs string type, senderId and targetId')
  }
  if (data !== undefined && !(data instanceof Uint8Array))
    throw new MalformedFrameError('message data must be bytes')
  if (body.documentId !== undefined && typeof body.documentId !== 'string') {
    throw new MalformedFrameError('message documentId must be a string')
  }
  // The remaining fields (count, sessionId, newHeads, add, remove) are checked by automerge-repo itself.
  const message = { ...body, type, senderId: senderId as PeerId, targetId: targetId as PeerId } as Message
  if (data instanceof Uint8Array) message.data = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  return message
}

/** Inverse of encodeWire. Throws MalformedFrameError (or HandshakeError for a version mismatch). */
export function decodeWire(payload: Uint8Array): WireFrame {
  if (payload.byteLength < 2)
    throw new MalformedFrameError(`frame payload of ${payload.byteLength} bytes is too short`)
  const kind = payload[0]
  switch (kind) {
    case FrameKind.handshake:
      return { kind: 'handshake', handshake: decodeHandshake(decodeBody(payload)) }
    case FrameKind.message:
      return { kind: 'message', message: decodeMessage(decodeBody(payload)) }
    case FrameKind.bye: {
      const { reason } = decodeBody(payload)
      return { kind: 'bye', reason: typeof reason === 'string' ? reason : '' }
    }
    default:
      throw new MalformedFrameError(`unknown frame kind 0x${(kind ?? 0).toString(16).padStart(2, '0')}`)
  }
}
