import {
  ConflictsReplySchema,
  FormularyReplySchema,
  FormularyUpdateReplySchema,
  InventoryReplySchema,
  OkReplySchema,
  PrescriptionStatusReplySchema,
  PrescriptionsReplySchema,
  RelayLoginReplySchema,
  RelayStatusReplySchema,
  ResolutionReplySchema,
  type ApprovalRequestSchema,
  type DecisionSchema,
  type FormularyUpdateRequestSchema,
  type PrescriptionStatusRequestSchema,
  type Input,
  type InventoryStateView,
  type Output,
  type ResolutionRequestBody,
  type Schema,
} from '@clinic-mesh/contracts'
import { HttpJsonError, callJson } from '../lib/json-call.js'

/**
 * The relay's reviewer API (docs/relay-api.md), typed for the console. Every call has a timeout; errors are the
 * relay's `{ error: { name, message } }` and surface as `RelayApiError` with that stable `name`. Every call but the
 * sign-in carries the session's `Authorization: Bearer` token (`setBearer`).
 */
export class RelayApiError extends HttpJsonError {}

/** Any failure as a `RelayApiError` for the console's error line: the relay's own as it is, anything else (the network, a bug) under `name` with status 0. */
export function asRelayError(err: unknown, name = 'Error'): RelayApiError {
  return err instanceof RelayApiError ? err : new RelayApiError(name, String(err), 0)
}

/** The console's shapes, defined with their schemas in @clinic-mesh/contracts relay-api/ (docs/relay-api.md). */
export type {
  ConflictStatus,
  ConflictView,
  InventoryReply,
  RelayLoginReply as LoginReply,
  RelayStatusReply as StatusReply,
} from '@clinic-mesh/contracts'
export type InventoryState = InventoryStateView
/** A decision as the console builds it (ids as plain strings). */
export type Decision = Input<typeof DecisionSchema>
export type Action = Decision['action']
export type Approval = Input<typeof ApprovalRequestSchema>
export type ResolutionRequest = ResolutionRequestBody
export type { FormularyItem } from '@clinic-mesh/contracts'
export type FormularyUpdate = Input<typeof FormularyUpdateRequestSchema>
export type { PrescriptionFound } from '@clinic-mesh/contracts'
export type PrescriptionStatusChange = Input<typeof PrescriptionStatusRequestSchema>

const TIMEOUT_MS = 8000

let bearer: string | null = null

/** The token sent with every call from now on (`null`: none). */
export function setBearer(token: string | null): void {
  bearer = token
}

/** A read of a clinic an instance is still opening (503 `ClinicOpeningError`, Retry-After 1 s) is asked again this often. */
export const OPENING_RETRIES = 5
const OPENING_WAIT_MS = 1000

async function call<S extends Schema>(
  method: string,
  path: string,
  reply: S,
  body?: unknown,
): Promise<Output<S>> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await callOnce(method, path, reply, body)
    } catch (err) {
      // over PostgreSQL an instance opens a clinic on its first read; a read (never a write) waits and asks again
      const opening = err instanceof RelayApiError && err.status === 503 && err.name === 'ClinicOpeningError'
      if (!opening || method !== 'GET' || attempt >= OPENING_RETRIES) throw err
      await new Promise((r) => setTimeout(r, OPENING_WAIT_MS))
    }
  }
}

function callOnce<S extends Schema>(
  method: string,
  path: string,
  reply: S,
  body?: unknown,
): Promise<Output<S>> {
  const headers: Record<string, string> =
    bearer !== null && path !== '/api/login' ? { authorization: `Bearer ${bearer}` } : {}
  return callJson({
    method,
    path,
    reply,
    body,
    headers,
    timeoutMs: TIMEOUT_MS,
    peer: 'relay',
    unreachable: 'RelayUnreachableError',
    fail: (name, message, status) => new RelayApiError(name, message, status),
  })
}

export const relayApi = {
  login: (clinic: string, user: string, password: string) =>
    call('POST', '/api/login', RelayLoginReplySchema, { clinic, user, password }),
  logout: () => call('POST', '/api/logout', OkReplySchema, {}),
  status: () => call('GET', '/api/status', RelayStatusReplySchema),
  conflicts: () => call('GET', '/api/conflicts', ConflictsReplySchema),
  inventory: (clinic: string) =>
    call('GET', `/api/inventory?clinic=${encodeURIComponent(clinic)}`, InventoryReplySchema),
  formulary: () => call('GET', '/api/formulary', FormularyReplySchema),
  updateFormulary: (req: FormularyUpdate) => call('POST', '/api/formulary', FormularyUpdateReplySchema, req),
  prescriptions: (q: { patient?: string; prescription?: string }) =>
    call(
      'GET',
      `/api/prescriptions?${new URLSearchParams(Object.entries(q).filter((e): e is [string, string] => !!e[1])).toString()}`,
      PrescriptionsReplySchema,
    ),
  setPrescriptionStatus: (rxId: string, req: PrescriptionStatusChange) =>
    call('POST', `/api/prescriptions/${encodeURIComponent(rxId)}/status`, PrescriptionStatusReplySchema, req),
  resolve: (id: string, req: ResolutionRequest) =>
    call('POST', `/api/conflicts/${encodeURIComponent(id)}/resolution`, ResolutionReplySchema, req),
}
