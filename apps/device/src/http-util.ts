import type { IncomingMessage, ServerResponse } from 'node:http'
import { InvalidInputError } from '@clinic-mesh/contracts'
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
  AppendOnlyError: 409,
  PayloadTooLargeError: 413,
  ClinicNotReadyError: 503,
  StorageUnavailableError: 503,
  StorageFullError: 507,
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' })
  res.end(text)
}

/** Status and body for an error: named errors keep their name; anything else is a 500 InternalError. */
export function errorReply(err: unknown): { status: number; body: { error: { name: string; message: string } } } {
  const name = err instanceof Error ? err.name : 'InternalError'
  const status = STATUS[name]
  if (status === undefined) return { status: 500, body: { error: { name: 'InternalError', message: 'internal error (see the device log)' } } }
  return { status, body: { error: { name, message: err instanceof Error ? err.message : String(err) } } }
}

/** Reads a JSON object body (≤ 1 MiB). Oversized bodies are drained, then refused with PayloadTooLargeError. */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
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
  if (size > MAX_BODY_BYTES || declared > MAX_BODY_BYTES) throw new PayloadTooLargeError(`request body over ${MAX_BODY_BYTES} bytes`)
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.trim() === '') throw new MalformedJsonError('request body is empty; a JSON object is required')
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new MalformedJsonError('request body is not valid JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidInputError('request body must be a JSON object')
  return value as Record<string, unknown>
}

/** Field readers for untrusted bodies: each throws InvalidInputError naming the field. */
export const field = {
  string(body: Record<string, unknown>, key: string): string {
    const v = body[key]
    if (typeof v !== 'string' || v === '') throw new InvalidInputError(`${key} must be a non-empty string`)
    return v
  },
  optString(body: Record<string, unknown>, key: string): string | undefined {
    return body[key] === undefined || body[key] === null ? undefined : field.string(body, key)
  },
  int(body: Record<string, unknown>, key: string, min = 0): number {
    const v = body[key]
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new InvalidInputError(`${key} must be an integer ≥ ${min}`)
    return v
  },
  object(body: Record<string, unknown>, key: string): Record<string, unknown> | undefined {
    const v = body[key]
    if (v === undefined || v === null) return undefined
    if (typeof v !== 'object' || Array.isArray(v)) throw new InvalidInputError(`${key} must be an object`)
    return v as Record<string, unknown>
  },
  bool(body: Record<string, unknown>, key: string): boolean | undefined {
    const v = body[key]
    if (v === undefined) return undefined
    if (typeof v !== 'boolean') throw new InvalidInputError(`${key} must be true or false`)
    return v
  },
}
