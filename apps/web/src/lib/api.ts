import type { Output, Schema } from '@clinic-mesh/contracts'
import { HttpJsonError, callJson, parseJsonReply } from './json-call.js'

/**
 * The device node's JSON API (docs/api.md). Every call has a timeout: a tablet on a failing network must
 * never hang on a request. Errors are `{ error: { name, message } }` and surface as `ApiError`. Every reply is
 * parsed with its contract schema (@clinic-mesh/contracts device-api/): a reply of another shape (a renamed field)
 * fails loudly as `MalformedReplyError`, it is never guessed at.
 */
export class ApiError extends HttpJsonError {}

const TIMEOUT_MS = 4000
/** Dispatched on `window` when the device node says it was revoked. */
export const DEVICE_REVOKED_EVENT = 'clinic-mesh:device-revoked'

export async function api<S extends Schema>(
  method: string,
  path: string,
  reply: S,
  body?: unknown,
  timeoutMs = TIMEOUT_MS,
): Promise<Output<S>> {
  return callJson({
    method,
    path,
    reply,
    body,
    timeoutMs,
    peer: 'device node',
    unreachable: 'DeviceUnreachableError',
    fail: (name, message, status) => new ApiError(name, message, status),
    // the node revoked itself (410 on every route, `revoked: true` in its status): the app wipes its browser copy
    onAnswer: (status, text, json) => {
      if (
        (status === 410 && text.includes('DeviceRevokedError')) ||
        (path === '/api/status' && (json as { revoked?: unknown } | undefined)?.revoked === true)
      ) {
        window.dispatchEvent(new Event(DEVICE_REVOKED_EVENT))
      }
    },
  })
}

/** A reply parsed with its contract schema, or `MalformedReplyError` naming every field that does not fit. */
export function parseReply<S extends Schema>(schema: S, json: unknown, what: string): Output<S> {
  return parseJsonReply(
    schema,
    json,
    `the device node's reply to ${what}`,
    (m) => new ApiError('MalformedReplyError', m, 200),
  )
}
