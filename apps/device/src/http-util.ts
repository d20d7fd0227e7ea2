import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  ClinicMeshError,
  InvalidInputError,
  parseWith,
  type Output,
  type Schema,
} from '@clinic-mesh/contracts'
import { SameOriginGuard as BaseSameOriginGuard } from '@clinic-mesh/security'
import { MalformedJsonError, PayloadTooLargeError } from './errors.js'

/** Largest accepted request body. */
export const MAX_BODY_BYTES = 1024 * 1024
/** Past this much drained input, the connection is cut instead of read to the end. */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024

const STATUS: Record<string, number> = {
  MalformedJsonError: 400,
  InvalidInputError: 400,
  InvalidRecordError: 400,
  InvalidOperationError: 400,
  JoinError: 400,
  UnauthenticatedError: 401,
  InvalidPasswordError: 401,
  SigningKeyLockedError: 401,
  ForbiddenError: 403,
  AdminKeyUnavailableError: 403,
  DeviceRevokedError: 410,
  RouteNotFoundError: 404,
  UserExistsError: 409,
  UnknownUserError: 404,
  AccountLockedError: 423,
  UnknownPatientError: 404,
  UnknownRecordError: 404,
  IdempotencyConflictError: 409,
  DuplicateRecordError: 409,
  SignedPrescriptionError: 409,
  PrescriptionChangedError: 409,
  PrescriptionVerificationError: 409,
  PrescriptionNotActiveError: 409,
  LotNotPrescribedError: 422,
  UnknownLotError: 422,
  AppendOnlyError: 409,
  PayloadTooLargeError: 413,
  UnsupportedMediaTypeError: 415,
  ForbiddenOriginError: 403,
  ForbiddenHostError: 421,
  TooManyRequestsError: 429,
  ClinicNotReadyError: 503,
  PeerUnreachableError: 502,
  StorageUnavailableError: 503,
  StorageFullError: 507,
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  })
  res.end(text)
}

/** Status and body for an error: named errors keep their name; anything else is a 500 InternalError. */
export function errorReply(err: unknown): {
  status: number
  body: { error: { name: string; message: string } }
} {
  const name = err instanceof Error ? err.name : 'InternalError'
  const status = STATUS[name]
  if (status === undefined)
    return {
      status: 500,
      body: { error: { name: 'InternalError', message: 'internal error (see the device log)' } },
    }
  return { status, body: { error: { name, message: err instanceof Error ? err.message : String(err) } } }
}

/** A request body that is not declared `application/json` (a page's `text/plain` form post needs no preflight): 415. */
export class UnsupportedMediaTypeError extends ClinicMeshError {
  constructor(message: string) {
    super('UnsupportedMediaTypeError', message)
  }
}

/** A browser request from a page of another origin (state change or `/sync` upgrade): 403. */
export class ForbiddenOriginError extends ClinicMeshError {
  constructor(message: string) {
    super('ForbiddenOriginError', message)
  }
}

/** A `Host` header that does not name this server (DNS rebinding): 421. */
export class ForbiddenHostError extends ClinicMeshError {
  constructor(message: string) {
    super('ForbiddenHostError', message)
  }
}

/** The device node's same-origin rules (`@clinic-mesh/security` SameOriginGuard) with its named errors. */
export class SameOriginGuard extends BaseSameOriginGuard {
  constructor(listenHost: string, allowHosts: readonly string[], port: () => number) {
    super(
      listenHost,
      allowHosts,
      port,
      { host: (m) => new ForbiddenHostError(m), origin: (m) => new ForbiddenOriginError(m) },
      'this device node',
    )
  }
}

/** Raw HTTP refusal of a WebSocket upgrade: the named error as JSON, then the socket closes. */
export function upgradeRefusal(err: unknown): string {
  const { status, body } = errorReply(err)
  const text = JSON.stringify(body)
  return `HTTP/1.1 ${status} Refused\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`
}

/**
 * Headers on every response of the device's web surface: the app runs only its own scripts (plus the automerge
 * WebAssembly), talks only to this node (`/api`, `/sync` on the same host), may not be framed, and sends no referrer.
 * `'unsafe-inline'` styles: Svelte's `style:` directives set style attributes.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
}

/** Only `application/json` bodies (optionally with parameters such as charset). */
export function assertJsonType(req: IncomingMessage): void {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
  if (type !== 'application/json')
    throw new UnsupportedMediaTypeError(
      `the request body must be sent as content-type: application/json (got ${type === '' ? 'none' : type.slice(0, 60)})`,
    )
}

/** Reads a JSON object body (≤ 1 MiB), sent as `application/json` (else UnsupportedMediaTypeError, nothing read). Oversized bodies are drained, then refused with PayloadTooLargeError. */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  assertJsonType(req)
  const declared = Number(req.headers['content-length'] ?? 0)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_DRAIN_BYTES) {
      req.destroy()
      break
    }
    if (size <= MAX_BODY_BYTES) chunks.push(chunk)
  }
  if (size > MAX_BODY_BYTES || declared > MAX_BODY_BYTES)
    throw new PayloadTooLargeError(`request body over ${MAX_BODY_BYTES} bytes`)
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.trim() === '') throw new MalformedJsonError('request body is empty; a JSON object is required')
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new MalformedJsonError('request body is not valid JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InvalidInputError('request body must be a JSON object')
  return value as Record<string, unknown>
}

/** Reads a JSON body and parses it with a contract schema: every invalid field is named in one InvalidInputError (400). */
export async function readBody<S extends Schema>(req: IncomingMessage, schema: S): Promise<Output<S>> {
  return parseWith(schema, await readJson(req), 'request body')
}
