import {
  ConflictsReplySchema,
  ErrorReplySchema,
  InventoryReplySchema,
  InvalidInputError,
  OkReplySchema,
  RelayLoginReplySchema,
  RelayStatusReplySchema,
  ResolutionReplySchema,
  parseWith,
  type ApprovalRequestSchema,
  type DecisionSchema,
  type Input,
  type InventoryStateView,
  type Output,
  type ResolutionRequestBody,
  type Schema,
} from '@clinic-mesh/contracts'
import * as v from 'valibot'

/**
 * The relay's reviewer API (docs/relay-api.md), typed for the console. Every call has a timeout; errors are the
 * relay's `{ error: { name, message } }` and surface as `RelayApiError` with that stable `name`. Every call but the
 * sign-in carries the session's `Authorization: Bearer` token (`setBearer`).
 */
export class RelayApiError extends Error {
  readonly status: number
  constructor(name: string, message: string, status: number) {
    super(message)
    this.name = name
    this.status = status
  }
}

/** The console's shapes, defined with their schemas in @clinic-mesh/contracts relay-api/ (docs/relay-api.md). */
export type { ConflictStatus, ConflictView, InventoryReply, RelayLoginReply as LoginReply, RelayStatusReply as StatusReply } from '@clinic-mesh/contracts'
export type InventoryState = InventoryStateView
/** A decision as the console builds it (ids as plain strings). */
export type Decision = Input<typeof DecisionSchema>
export type Action = Decision['action']
export type Approval = Input<typeof ApprovalRequestSchema>
export type ResolutionRequest = ResolutionRequestBody

const TIMEOUT_MS = 8000

let bearer: string | null = null

/** The token sent with every call from now on (`null`: none). */
export function setBearer(token: string | null): void {
  bearer = token
}

async function call<S extends Schema>(method: string, path: string, reply: S, body?: unknown): Promise<Output<S>> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (bearer !== null && path !== '/api/login') headers.authorization = `Bearer ${bearer}`
  const init: RequestInit = { method, headers, signal: AbortSignal.timeout(TIMEOUT_MS) }
  if (body !== undefined) init.body = JSON.stringify(body)
  let res: Response
  try {
    res = await fetch(path, init)
  } catch (err) {
    throw new RelayApiError('RelayUnreachableError', `relay unreachable: ${err instanceof Error ? err.message : String(err)}`, 0)
  }
  const text = await res.text()
  let json: unknown
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    throw new RelayApiError('MalformedReplyError', `relay answered ${res.status} with non-JSON`, res.status)
  }
  if (!res.ok) {
    const e = v.is(ErrorReplySchema, json) ? json.error : undefined
    throw new RelayApiError(e?.name ?? 'HttpError', e?.message ?? `HTTP ${res.status}`, res.status)
  }
  // a reply of another shape than the contract's (a renamed field) fails loudly, it is never guessed at
  try {
    return parseWith(reply, json, `the relay's reply to ${method} ${path.split('?')[0] ?? path}`)
  } catch (err) {
    if (err instanceof InvalidInputError) throw new RelayApiError('MalformedReplyError', err.message, res.status)
    throw err
  }
}

export const relayApi = {
  login: (clinic: string, user: string, password: string) => call('POST', '/api/login', RelayLoginReplySchema, { clinic, user, password }),
  logout: () => call('POST', '/api/logout', OkReplySchema, {}),
  status: () => call('GET', '/api/status', RelayStatusReplySchema),
  conflicts: () => call('GET', '/api/conflicts', ConflictsReplySchema),
  inventory: (clinic: string) => call('GET', `/api/inventory?clinic=${encodeURIComponent(clinic)}`, InventoryReplySchema),
  resolve: (id: string, req: ResolutionRequest) => call('POST', `/api/conflicts/${encodeURIComponent(id)}/resolution`, ResolutionReplySchema, req),
}
