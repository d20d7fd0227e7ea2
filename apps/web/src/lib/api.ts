/**
 * The device node's JSON API (docs/api.md). Every call has a timeout: a tablet on a failing network must
 * never hang on a request. Errors are `{ error: { name, message } }` and surface as `ApiError`.
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

export async function api<T>(method: string, path: string, body?: unknown, timeoutMs = TIMEOUT_MS): Promise<T> {
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
    const e = (json as { error?: { name?: string; message?: string } } | undefined)?.error
    throw new ApiError(e?.name ?? 'HttpError', e?.message ?? `HTTP ${res.status}`, res.status)
  }
  return json as T
}

/** Reads a value that may sit under one of several names (the device API is still settling). */
export function pick<T>(obj: unknown, ...keys: string[]): T | undefined {
  if (typeof obj !== 'object' || obj === null) return undefined
  for (const k of keys) {
    const v = (obj as Record<string, unknown>)[k]
    if (v !== undefined && v !== null) return v as T
  }
  return undefined
}
