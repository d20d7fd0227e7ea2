import type { IncomingMessage, ServerResponse } from 'node:http'
import { isClinicMeshError } from '@clinic-mesh/contracts'
import { SameOriginGuard as BaseSameOriginGuard } from '@clinic-mesh/security'
import { MalformedJsonError, PayloadTooLargeError, RelayHttpError } from './errors.js'

/** A request body not declared `application/json` (a page's `text/plain` form post needs no CORS preflight): 415. */
export class UnsupportedMediaTypeError extends RelayHttpError {
  constructor(message: string) {
    super('UnsupportedMediaTypeError', 415, message)
  }
}

/** A browser request from a page of another origin (a state change or a `/sync` upgrade): 403. */
export class ForbiddenOriginError extends RelayHttpError {
  constructor(message: string) {
    super('ForbiddenOriginError', 403, message)
  }
}

/** A `Host` header that does not name this relay (DNS rebinding): 421. */
export class ForbiddenHostError extends RelayHttpError {
  constructor(message: string) {
    super('ForbiddenHostError', 421, message)
  }
}

/** Too many outstanding requests of one kind from one address (or from everyone): 429. */
export class TooManyRequestsError extends RelayHttpError {
  constructor(message: string) {
    super('TooManyRequestsError', 429, message)
  }
}

/** The relay's same-origin rules (`@clinic-mesh/security` SameOriginGuard) with its named errors. */
export class SameOriginGuard extends BaseSameOriginGuard {
  constructor(listenHost: string, allowHosts: readonly string[], port: () => number) {
    super(
      listenHost,
      allowHosts,
      port,
      { host: (m) => new ForbiddenHostError(m), origin: (m) => new ForbiddenOriginError(m) },
      'this relay',
    )
  }
}

/** Wraps the request handler: a request the guard refuses is answered with its named error and goes no further. */
export function guardRequests(
  guard: SameOriginGuard,
  next: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    try {
      guard.check(req)
    } catch (err) {
      res.setHeader('connection', 'close')
      return sendError(res, err)
    }
    next(req, res)
  }
}

/** Raw HTTP refusal of a WebSocket upgrade: `{ error: { name, message } }`, then the socket closes. */
export function upgradeRefusal(err: unknown): string {
  const status = statusOfError(err)
  const text = JSON.stringify({
    error: {
      name: err instanceof Error && status !== 500 ? err.name : 'InternalError',
      message: err instanceof Error && status !== 500 ? err.message : 'internal error',
    },
  })
  return `HTTP/1.1 ${status} Refused\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`
}

const MAX_BODY = 256 * 1024
/** Past this much drained input the connection is cut instead of read to the end. */
const MAX_DRAIN = 64 * 1024 * 1024

/**
 * Read and parse a JSON request body (≤ 256 KiB). An oversized body is drained (up to 64 MiB) before the refusal,
 * so the client reads a 413 instead of a connection reset mid-upload.
 */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
  if (type !== 'application/json')
    throw new UnsupportedMediaTypeError(
      `the request body must be sent as content-type: application/json (got ${type === '' ? 'none' : type.slice(0, 60)})`,
    )
  const chunks: Buffer[] = []
  let size = 0
  if (Number(req.headers['content-length'] ?? 0) > MAX_DRAIN) throw new PayloadTooLargeError(MAX_BODY)
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_DRAIN) {
      req.destroy()
      break
    }
    if (size <= MAX_BODY) chunks.push(chunk)
  }
  if (size > MAX_BODY) throw new PayloadTooLargeError(MAX_BODY)
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.trim() === '') throw new MalformedJsonError('request body is empty')
  try {
    return JSON.parse(text) as unknown
  } catch {
    throw new MalformedJsonError('request body is not valid JSON')
  }
}

/** JSON answers are data, never a page: not sniffed, not framed, no referrer. */
const JSON_HEADERS = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...JSON_HEADERS,
  })
  res.end(text)
}

/** Ledger error names that a reviewer's request can trigger, with their HTTP status. */
const NAMED_STATUS: Record<string, number> = {
  InvalidInputError: 400,
  InvalidOperationError: 400,
  InvalidPasswordError: 401,
  ResolutionApprovalError: 403,
  ForbiddenError: 403,
  UnknownConflictError: 404,
  AccountLockedError: 423,
  ReviewerUnknownError: 503,
  ResolutionNotApplicableError: 422,
}

/** HTTP status for a named ledger refusal (a refused resolution). */
export function statusOfName(name: string): number {
  return NAMED_STATUS[name] ?? 409
}

export function statusOfError(err: unknown): number {
  if (err instanceof RelayHttpError) return err.status
  if (isClinicMeshError(err)) return NAMED_STATUS[err.name] ?? 500
  return 500
}

/** `{ error: { name, message } }`; unexpected errors are 500 with a generic message (details go to the log). */
export function sendError(res: ServerResponse, err: unknown): void {
  const status = statusOfError(err)
  const e = err instanceof Error ? err : new Error(String(err))
  const message = status === 500 ? 'internal error' : e.message
  // a refusal that names when to ask again (ClinicOpeningError)
  const retry = (err as { retryAfterS?: unknown }).retryAfterS
  const headers = status === 503 && typeof retry === 'number' ? { 'retry-after': String(retry) } : undefined
  if (!res.headersSent)
    sendJson(res, status, { error: { name: status === 500 ? 'InternalError' : e.name, message } }, headers)
  else res.end()
}
