import type { IncomingMessage, ServerResponse } from 'node:http'
import { isClinicMeshError } from '@clinic-mesh/contracts'
import { MalformedJsonError, PayloadTooLargeError, RelayHttpError } from './errors.js'

const MAX_BODY = 256 * 1024
/** Past this much drained input the connection is cut instead of read to the end. */
const MAX_DRAIN = 64 * 1024 * 1024

/**
 * Read and parse a JSON request body (≤ 256 KiB). An oversized body is drained (up to 64 MiB) before the refusal,
 * so the client reads a 413 instead of a connection reset mid-upload.
 */
export async function readJson(req: IncomingMessage): Promise<unknown> {
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

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' })
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
  if (!res.headersSent) sendJson(res, status, { error: { name: status === 500 ? 'InternalError' : e.name, message } })
  else res.end()
}
