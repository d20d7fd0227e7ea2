import { ErrorReplySchema, InvalidInputError, parseWith, type Output, type Schema } from '@clinic-mesh/contracts'
import * as v from 'valibot'

/**
 * The device node's JSON API (docs/api.md). Every call has a timeout: a tablet on a failing network must
 * never hang on a request. Errors are `{ error: { name, message } }` and surface as `ApiError`. Every reply is
 * parsed with its contract schema (@clinic-mesh/contracts device-api/): a reply of another shape (a renamed field)
 * fails loudly as `MalformedReplyError`, it is never guessed at.
 */
export class ApiError extends Error {
  readonly status: number
  constructor(name: string, message: string, status: number) {
    super(message)
    this.name = name
    this.status = status
  }
}

const TIMEOUT_MS = 4000
/** Dispatched on `window` when the device node says it was revoked. */
export const DEVICE_REVOKED_EVENT = 'clinic-mesh:device-revoked'

export async function api<S extends Schema>(method: string, path: string, reply: S, body?: unknown, timeoutMs = TIMEOUT_MS): Promise<Output<S>> {
  const init: RequestInit = { method, headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(timeoutMs) }
  if (body !== undefined) init.body = JSON.stringify(body)
  let res: Response
  try {
    res = await fetch(path, init)
  } catch (err) {
    throw new ApiError('DeviceUnreachableError', `device node unreachable: ${err instanceof Error ? err.message : String(err)}`, 0)
  }
  const text = await res.text()
  let json: unknown = undefined
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    throw new ApiError('MalformedReplyError', `device node answered ${res.status} with non-JSON`, res.status)
  }
  // the node revoked itself (410 on every route, `revoked: true` in its status): the app wipes its browser copy
  if ((res.status === 410 && text.includes('DeviceRevokedError')) || (path === '/api/status' && (json as { revoked?: unknown } | undefined)?.revoked === true)) {
    window.dispatchEvent(new Event(DEVICE_REVOKED_EVENT))
  }
  if (!res.ok) {
    const e = v.is(ErrorReplySchema, json) ? json.error : undefined
    throw new ApiError(e?.name ?? 'HttpError', e?.message ?? `HTTP ${res.status}`, res.status)
  }
  return parseReply(reply, json, `${method} ${path}`)
}

/** A reply parsed with its contract schema, or `MalformedReplyError` naming every field that does not fit. */
export function parseReply<S extends Schema>(schema: S, json: unknown, what: string): Output<S> {
  try {
    return parseWith(schema, json, `the device node's reply to ${what}`)
  } catch (err) {
    if (err instanceof InvalidInputError) throw new ApiError('MalformedReplyError', err.message, 200)
    throw err
  }
}
