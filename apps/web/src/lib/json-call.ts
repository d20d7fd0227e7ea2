import {
  ErrorReplySchema,
  InvalidInputError,
  parseWith,
  type Output,
  type Schema,
} from '@clinic-mesh/contracts'
import * as v from 'valibot'

/** An HTTP JSON error with the server's stable `name` (or ours: `…UnreachableError`, `MalformedReplyError`). */
export class HttpJsonError extends Error {
  readonly status: number
  constructor(name: string, message: string, status: number) {
    super(message)
    this.name = name
    this.status = status
  }
}

export interface JsonCall<S extends Schema> {
  method: string
  path: string
  /** The contract schema of a successful reply. */
  reply: S
  body?: unknown
  headers?: Record<string, string>
  timeoutMs: number
  /** Who answers, in messages: 'device node' or 'relay'. */
  peer: string
  /** Name of the error when the peer cannot be reached (`DeviceUnreachableError`, `RelayUnreachableError`). */
  unreachable: string
  /** Builds the caller's error class from a name, a message and the HTTP status. */
  fail: (name: string, message: string, status: number) => Error
  /** Sees every answer before it is checked (the device's revocation signal). */
  onAnswer?: (status: number, text: string, json: unknown) => void
}

/**
 * One JSON request with a timeout (a tablet on a failing network never hangs): `{ error: { name, message } }`
 * answers surface as the caller's error with that stable name, and a successful reply is parsed with its contract
 * schema, so a reply of another shape (a renamed field) fails loudly as `MalformedReplyError`, never guessed at.
 */
export async function callJson<S extends Schema>(c: JsonCall<S>): Promise<Output<S>> {
  const init: RequestInit = {
    method: c.method,
    headers: { 'content-type': 'application/json', ...c.headers },
    signal: AbortSignal.timeout(c.timeoutMs),
  }
  if (c.body !== undefined) init.body = JSON.stringify(c.body)
  let res: Response
  try {
    res = await fetch(c.path, init)
  } catch (err) {
    throw c.fail(
      c.unreachable,
      `${c.peer} unreachable: ${err instanceof Error ? err.message : String(err)}`,
      0,
    )
  }
  const text = await res.text()
  let json: unknown
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    throw c.fail('MalformedReplyError', `${c.peer} answered ${res.status} with non-JSON`, res.status)
  }
  c.onAnswer?.(res.status, text, json)
  if (!res.ok) {
    const e = v.is(ErrorReplySchema, json) ? json.error : undefined
    throw c.fail(e?.name ?? 'HttpError', e?.message ?? `HTTP ${res.status}`, res.status)
  }
  return parseJsonReply(
    c.reply,
    json,
    `the ${c.peer}'s reply to ${c.method} ${c.path.split('?')[0] ?? c.path}`,
    (m) => c.fail('MalformedReplyError', m, res.status),
  )
}

/** A reply parsed with its contract schema, or the `MalformedReplyError` `fail` builds, naming every misfit field. */
export function parseJsonReply<S extends Schema>(
  schema: S,
  json: unknown,
  what: string,
  fail: (message: string) => Error,
): Output<S> {
  try {
    return parseWith(schema, json, what)
  } catch (err) {
    if (err instanceof InvalidInputError) throw fail(err.message)
    throw err
  }
}
