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

export type ConflictStatus = 'open' | 'resolved'

export interface Approval {
  user: string
  role: string
  /** Sent with a decision for a clinic whose users sign in (the relay checks it against the clinic's register). */
  password?: string
}

export type Decision =
  | { action: 'switch-lot'; batch: string }
  | { action: 'partial-dispense'; quantity: number }
  | { action: 'cancel' }
  | { action: 'write-off'; batch: string; quantity: number }
  | { action: 'accept'; adjustment: { batch: string; delta: number } | null }

export type Action = Decision['action']

export interface ConflictView {
  id: string
  clinic: string
  kind: string
  status: ConflictStatus
  critical: boolean
  detail: string
  patient: string | null
  prescription: string | null
  item: string | null
  batch: string | null
  quantity: number | null
  operation: { id: string; kind: string; seq: number }
  device: string
  user: string
  role: string
  site: string
  /** Device time of the operation (ISO). */
  at: string
  seen: { batch?: string | null; price?: number; stock?: number; prescriptionHash?: string; counted?: number }
  authority: { price?: number; stock?: number; prescriptionHash?: string | null; prescriptionStatus?: string; expiry?: string; formularyStatus?: string }
  round: number
  resolution: { op: string; decision: Decision; by: string; role: string; approvedBy: Approval | null; round: number } | null
  refusals: { op: string; error: string; message: string }[]
}

export interface InventoryState {
  items: Record<string, { name: string; price: number; status: string; controlled: boolean }>
  batches: Record<string, { item: string; expiry: string; unitCost?: number }>
  stock: Record<string, Record<string, number>>
}

export interface InventoryReply {
  clinic: string
  settledAt: string | null
  inventory: InventoryState
}

export interface StatusReply {
  time: string
  /** Absent without a token (the relay then says only its key and time). */
  clinics?: { clinic: string; devices: { device: string }[]; opsPending: number; conflictsOpen: number; conflictsResolved: number; lastSettlementAt: string | null }[]
}

export interface ResolutionRequest {
  clinic: string
  decision: Decision
  note: string
  /** Ignored for a signed-in reviewer (the relay takes the session's user and role); used by an operator token for a clinic without users. */
  user: string
  role: string
  approval: Approval | null
}

/** `POST /api/login`: a session of one clinic's reviewer, pharmacist or supervisor (12 h). */
export interface LoginReply {
  token: string
  user: { id: string; name: string; role: string }
  clinic: string
  expiresAt: string
}

const TIMEOUT_MS = 8000

let bearer: string | null = null

/** The token sent with every call from now on (`null`: none). */
export function setBearer(token: string | null): void {
  bearer = token
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
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
    const e = (json as { error?: { name?: string; message?: string } } | undefined)?.error
    throw new RelayApiError(e?.name ?? 'HttpError', e?.message ?? `HTTP ${res.status}`, res.status)
  }
  return json as T
}

export const relayApi = {
  login: (clinic: string, user: string, password: string) => call<LoginReply>('POST', '/api/login', { clinic, user, password }),
  logout: () => call<{ ok: true }>('POST', '/api/logout', {}),
  status: () => call<StatusReply>('GET', '/api/status'),
  conflicts: () => call<{ conflicts: ConflictView[] }>('GET', '/api/conflicts'),
  inventory: (clinic: string) => call<InventoryReply>('GET', `/api/inventory?clinic=${encodeURIComponent(clinic)}`),
  resolve: (id: string, req: ResolutionRequest) =>
    call<{ outcome: 'resolved'; conflict: ConflictView }>('POST', `/api/conflicts/${encodeURIComponent(id)}/resolution`, req),
}
