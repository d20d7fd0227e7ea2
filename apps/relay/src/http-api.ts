import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  ApprovalRequestSchema,
  InvalidInputError,
  RelayLoginRequestSchema,
  parseWith,
  type ConflictView,
  type ConflictsReply,
  type InventoryReply,
  type RelayLoginReply,
  type RegistrationReply,
  type RelayStatusReply,
  type ResolutionReply,
} from '@clinic-mesh/contracts'
import { RESOLVER_ROLES, type Conflict } from '@clinic-mesh/ledger'
import { ForbiddenError } from '@clinic-mesh/security'
import { clinicId, parseRegistration, parseResolution } from './request-bodies.js'
import type { ReviewerCheck } from './reviewer-check.js'
import type { AccessMap } from './access-map.js'
import type { ClinicWatcher } from './clinic-watcher.js'
import { ClinicNames } from './clinic-names.js'
import { PRESCRIPTION_STATUS_ROLES } from './relay-authority.js'
import { conflictView, namesOf } from './conflict-view.js'
import { prescriptionRoute } from './prescription-route.js'
import { formularyRoute } from './formulary-route.js'
import { exportManifest, exportType, streamExport } from './fhir-export.js'
import { serveConsole } from './console-files.js'
import { RouteNotFoundError, UnknownClinicError } from './errors.js'
import { readJson, sendError, sendJson, statusOfError, statusOfName } from './http-util.js'
import type { Logger } from './logger.js'
import type { RegistrationInput } from './request-bodies.js'
import { RelaySessions, type Principal } from './relay-sessions.js'

/** What the HTTP API needs from the relay. */
export interface RelayApiHost {
  readonly access: AccessMap
  register(input: RegistrationInput): Promise<{ created: boolean; body: RegistrationReply }>
  /** A single-use nonce for a device to sign (registration, `/sync`). */
  challenge(client?: string): { nonce: string; expiresAt: string }
  watchers(): ClinicWatcher[]
  watcher(clinic: string): ClinicWatcher | undefined
  /**
   * The clinic, opened here if it was not (bounded wait; ClinicOpeningError if still opening); undefined if it is
   * not registered.
   */
  openWatcher(clinic: string): Promise<ClinicWatcher | undefined>
  /** The web build (apps/web/dist) whose review.html is the reviewer console served at `/`. */
  readonly webDist: string
  /** Checks reviewers' and approvers' passwords against a clinic's register. */
  readonly reviewers: ReviewerCheck
  /** hex Ed25519 public key that signs the settled inventory and conflict queue documents. */
  readonly relayKey: string
}

/** A percent-decoded path segment; malformed encoding is the client's error (400), not a 500. */
function decodePathPart(p: string): string {
  try {
    return decodeURIComponent(p)
  } catch {
    throw new InvalidInputError('malformed percent-encoding in the path')
  }
}

async function pick(host: RelayApiHost, raw: string | null): Promise<ClinicWatcher> {
  const clinic = clinicId(raw ?? undefined)
  const w = await host.openWatcher(clinic)
  if (!w) throw new UnknownClinicError(clinic)
  return w
}

/** The clinic a read names (`?clinic=`); a session reads only its own clinic (the default when none is named). */
async function pickFor(host: RelayApiHost, who: Principal, raw: string | null): Promise<ClinicWatcher> {
  if (who.kind === 'operator') return pick(host, raw)
  const own = who.session.clinic
  if (raw !== null && raw !== own)
    throw new ForbiddenError('other-clinic', `this session is for clinic ${own}`)
  return pick(host, own)
}

/** The clinics a principal may read. */
async function watchersFor(host: RelayApiHost, who: Principal): Promise<ClinicWatcher[]> {
  if (who.kind === 'operator') return host.watchers()
  const w = await host.openWatcher(who.session.clinic)
  return w ? [w] : []
}

/** Who signs in to the relay's console: reviewers, and the central clinicians and pharmacists (prescription status). */
const CONSOLE_ROLES = [...new Set([...RESOLVER_ROLES, ...PRESCRIPTION_STATUS_ROLES])]

/**
 * A clinic's conflicts as the principal sees them: a signed-in user of that clinic gets display names (patient,
 * device, clinic, user, item); the operator token, which names no person of the clinic, gets ids only.
 */
async function viewsFor(
  p: Principal,
  w: ClinicWatcher,
  conflicts: readonly Conflict[],
): Promise<ConflictView[]> {
  if (p.kind !== 'session' || p.session.clinic !== w.clinic)
    return conflicts.map((c) => conflictView(w.clinic, c))
  const names = new ClinicNames(w.nameSources())
  return Promise.all(conflicts.map(async (c) => conflictView(w.clinic, c, await namesOf(w, names, c))))
}

function clinicStatus(
  host: RelayApiHost,
  w: ClinicWatcher,
): NonNullable<RelayStatusReply['clinics']>[number] {
  const s = w.settlement
  const wm = s.watermarks()
  return {
    clinic: w.clinic,
    name: w.nameSources().clinicName,
    days: s.days(),
    directoryLoaded: w.directoryReady,
    documents: host.access.docCount(w.clinic),
    claimsRefused: host.access.claimsRefused.filter((c) => c.clinic === w.clinic).length,
    devices: Object.entries(s.meta.devices).map(([device, p]) => ({
      device,
      maxSeq: p.maxSeq,
      watermark: wm[device] ?? 0,
    })),
    opsSettled: s.meta.settledOps,
    opsDecided: s.meta.decidedOps,
    opsPending: s.engine.pending().length,
    opsRejected: s.meta.rejectedTotal,
    conflictsOpen: s.engine.conflicts({ status: 'open' }).length,
    conflictsResolved: s.engine.conflicts({ status: 'resolved' }).length,
    lastSettlementAt: s.meta.lastSettledAt,
    checkpointError: s.lastSaveError,
    settlement: s.meta.settlement,
    settler: s.settler,
  }
}

/**
 * FHIR Bulk Data export of a clinic (docs/FHIR.md): `GET /fhir/$export?clinic=` answers the completion manifest, one
 * NDJSON output per resource type; `GET /fhir/$export/<Type>.ndjson?clinic=` streams it. For the central office
 * (operator token) and a clinic's supervisor (their own clinic); audited in the relay log.
 */
async function fhirExport(
  host: RelayApiHost,
  log: Logger,
  p: Principal,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  q: URLSearchParams,
): Promise<void> {
  if (p.kind === 'session' && p.session.role !== 'supervisor')
    throw new ForbiddenError('role', `a ${p.session.role} may not export a clinic's charts`)
  const w = await pickFor(host, p, q.get('clinic'))
  const by = p.kind === 'operator' ? 'operator' : p.session.user
  if (path === '/fhir/$export') {
    log('fhir-export', { clinic: w.clinic, by, what: 'manifest' })
    return sendJson(
      res,
      200,
      exportManifest(`http://${req.headers.host ?? 'relay'}`, w.clinic, req.url ?? path),
    )
  }
  const m = /^\/fhir\/\$export\/([A-Za-z]+)\.ndjson$/.exec(path)
  if (!m?.[1]) throw new RouteNotFoundError('GET', path)
  const type = exportType(m[1])
  const started = Date.now()
  const count = await streamExport(w, type, res)
  log('fhir-export', { clinic: w.clinic, by, what: type, resources: count, ms: Date.now() - started })
}

async function route(
  host: RelayApiHost,
  sessions: RelaySessions,
  log: Logger,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://relay')
  const path = url.pathname
  const method = req.method ?? 'GET'
  const q = url.searchParams
  const who = (): Principal => sessions.require(req.headers.authorization)
  if (method === 'GET' && path === '/healthz') return sendJson(res, 200, { ok: true })
  if (method === 'GET' && path === '/api/challenge')
    return sendJson(res, 200, host.challenge(req.socket.remoteAddress))
  if (method === 'POST' && path === '/api/clinics') {
    const out = await host.register(parseRegistration(await readJson(req)))
    return sendJson(res, out.created ? 201 : 200, out.body)
  }
  if (method === 'POST' && path === '/api/login') {
    const body = parseWith(RelayLoginRequestSchema, await readJson(req), 'request body')
    const clinic = body.clinic
    const w = await host.openWatcher(clinic)
    let me
    try {
      me = await host.reviewers.check(clinic, w?.register(), body.user, body.password, 'login')
    } catch (err) {
      if (
        err instanceof Error &&
        (err.name === 'InvalidPasswordError' || err.name === 'AccountLockedError')
      ) {
        log('login-refused', { clinic, error: err.name, scryptRuns: host.reviewers.scryptRuns })
      }
      throw err
    }
    if (!CONSOLE_ROLES.includes(me.role))
      throw new ForbiddenError('role', `a ${me.role} does not use the reviewer console`)
    const { token, session } = sessions.open(clinic, me)
    log('login', { clinic, user: me.user, role: me.role })
    const reply: RelayLoginReply = {
      token,
      user: { id: me.user, name: me.name, role: me.role },
      clinic,
      expiresAt: new Date(session.expiresAt).toISOString(),
    }
    return sendJson(res, 200, reply)
  }
  if (method === 'POST' && path === '/api/logout') {
    who()
    sessions.close(req.headers.authorization)
    return sendJson(res, 200, { ok: true })
  }
  if (method === 'GET' && path === '/api/status') {
    // without a token: only what a device needs to pin the relay; with one: the clinics it may read
    const p = sessions.principal(req.headers.authorization)
    if (!p) return sendJson(res, 200, { relayKey: host.relayKey, time: new Date().toISOString() })
    const reply: RelayStatusReply = {
      relayKey: host.relayKey,
      clinics: (await watchersFor(host, p)).map((w) => clinicStatus(host, w)),
      time: new Date().toISOString(),
    }
    return sendJson(res, 200, reply)
  }
  if (method === 'GET' && path === '/api/inventory') {
    const w = await pickFor(host, who(), q.get('clinic'))
    const s = w.settlement
    const reply: InventoryReply = {
      clinic: w.clinic,
      settledAt: s.meta.lastSettledAt,
      decidedOps: s.meta.decidedOps,
      watermarks: s.watermarks(),
      inventory: s.engine.inventory(),
    }
    return sendJson(res, 200, reply)
  }
  if (method === 'GET' && path === '/api/rejected') {
    const w = await pickFor(host, who(), q.get('clinic'))
    return sendJson(res, 200, {
      clinic: w.clinic,
      total: w.settlement.meta.rejectedTotal,
      rejected: w.settlement.meta.rejected,
    })
  }
  if (method === 'GET' && path === '/api/conflicts') {
    const p = who()
    const status = q.get('status')
    if (status !== null && status !== 'open' && status !== 'resolved')
      throw new InvalidInputError('status must be open or resolved')
    const ws =
      q.get('clinic') === null ? await watchersFor(host, p) : [await pickFor(host, p, q.get('clinic'))]
    const filter: { status?: 'open' | 'resolved' } =
      status === 'open' || status === 'resolved' ? { status } : {}
    const reply: ConflictsReply = {
      conflicts: (
        await Promise.all(ws.map((w) => viewsFor(p, w, w.settlement.engine.conflicts(filter))))
      ).flat(),
    }
    return sendJson(res, 200, reply)
  }
  const m = /^\/api\/conflicts\/([^/]+)\/resolution$/.exec(path)
  if (method === 'POST' && m) {
    const p = who()
    const raw = await readJson(req)
    const body =
      typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {}
    if (p.kind === 'session' && body.clinic === undefined) body.clinic = p.session.clinic
    const claimed = await pickFor(host, p, typeof body.clinic === 'string' ? body.clinic : null)
    if (p.kind === 'session') {
      // the reviewer is the signed-in user, with the role of the register (checked at sign-in), never the body's
      body.user = p.session.user
      body.role = p.session.role
    }
    if (claimed.settlement.meta.signaturesRequired) {
      // a clinic with a user register: only its own signed-in reviewers decide; a second approver proves it with
      // their password (checked against the register, back-off and lockout per clinic and user)
      if (p.kind !== 'session')
        throw new ForbiddenError(
          'operator',
          'decisions for a clinic with users need a signed-in reviewer of that clinic',
        )
      if (body.approval !== undefined && body.approval !== null) {
        const a = parseWith(ApprovalRequestSchema, body.approval, 'approval')
        const ok = await host.reviewers.check(
          claimed.clinic,
          claimed.register(),
          a.user,
          a.password,
          'approval',
        )
        body.approval = { user: ok.user, role: ok.role }
      }
    }
    const input = parseResolution(decodePathPart(m[1] ?? ''), body)
    const w = await pick(host, input.clinic)
    const out = w.settlement.resolve(input.conflict, input)
    await w.settlement.requestSave() // an acknowledged resolution survives a crash
    const [view] = await viewsFor(p, w, [out.conflict])
    const reply: ResolutionReply = { outcome: out.outcome, operation: out.operation.id, conflict: view! }
    if (out.outcome === 'refused' && out.error) {
      const err = { name: out.error.name, message: out.error.message }
      return sendJson(res, statusOfName(err.name), { error: err, ...reply })
    }
    return sendJson(res, 200, reply)
  }
  if ((method === 'GET' || method === 'POST') && path === '/api/formulary')
    return formularyRoute((p, raw) => pickFor(host, p, raw), log, who(), req, res, q)
  if (path === '/api/prescriptions' || path.startsWith('/api/prescriptions/')) {
    if (await prescriptionRoute((p, raw) => pickFor(host, p, raw), log, who, req, res, path, q)) return
  }
  if (method === 'GET' && (path === '/fhir/$export' || path.startsWith('/fhir/$export/')))
    return fhirExport(host, log, who(), req, res, path, q)
  if ((method === 'GET' || method === 'HEAD') && path !== '/api' && !path.startsWith('/api/'))
    return serveConsole(host.webDist, req, res, path)
  throw new RouteNotFoundError(method, path)
}

/** The reviewer + registration API. Never throws: every failure is answered as `{ error: { name, message } }`. */
export function createApiHandler(
  host: RelayApiHost,
  log: Logger,
): (req: IncomingMessage, res: ServerResponse) => void {
  const sessions = new RelaySessions({ operatorTokenSha256: process.env.RELAY_OPERATOR_TOKEN_SHA256 })
  return (req, res) => {
    route(host, sessions, log, req, res).catch((err: unknown) => {
      const status = statusOfError(err)
      if (status >= 500)
        log('api-error', {
          path: (req.url ?? '').split('?')[0] ?? '',
          error: err instanceof Error ? err.name : 'unknown',
          stack: err instanceof Error ? (err.stack ?? null) : null,
        })
      sendError(res, err)
    })
  }
}
