import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  FormularyUpdateRequestSchema,
  parseWith,
  type FormularyItem,
  type FormularyReply,
  type FormularyUpdateReply,
} from '@clinic-mesh/contracts'
import { ForbiddenError } from '@clinic-mesh/security'
import { FORMULARY_ROLES } from './relay-authority.js'
import type { ClinicWatcher } from './clinic-watcher.js'
import { readJson, sendJson } from './http-util.js'
import type { Logger } from './logger.js'
import type { Principal } from './relay-sessions.js'

/** The clinic's settled formulary, by name. */
function formularyOf(w: ClinicWatcher): FormularyItem[] {
  return Object.entries(w.settlement.engine.inventory().items)
    .map(([item, e]) => ({ item, ...e }))
    .sort((a, b) => a.name.localeCompare(b.name))
}

/**
 * `GET /api/formulary`: any signed-in reviewer of the clinic (or the operator) reads it. `POST /api/formulary`: a
 * signed-in supervisor or admin of the clinic adds, reprices or withdraws an item; the relay records it in its own log
 * under that user and role (the operator token names no person and is refused).
 */
export async function formularyRoute(
  pickFor: (p: Principal, raw: string | null) => Promise<ClinicWatcher>,
  log: Logger,
  p: Principal,
  req: IncomingMessage,
  res: ServerResponse,
  q: URLSearchParams,
): Promise<void> {
  if (req.method === 'GET') {
    const w = await pickFor(p, q.get('clinic'))
    const reply: FormularyReply = { clinic: w.clinic, items: formularyOf(w) }
    return sendJson(res, 200, reply)
  }
  if (p.kind !== 'session')
    throw new ForbiddenError(
      'operator',
      'a formulary change needs a signed-in supervisor or admin of the clinic',
    )
  if (!FORMULARY_ROLES.includes(p.session.role))
    throw new ForbiddenError('role', `a ${p.session.role} may not change the formulary`)
  const body = parseWith(FormularyUpdateRequestSchema, await readJson(req), 'request body')
  const w = await pickFor(p, body.clinic ?? null)
  const out = w.settlement.updateFormulary({ ...body, user: p.session.user, role: p.session.role })
  await w.settlement.requestSave() // an acknowledged change survives a crash
  const entry = formularyOf(w).find((i) => i.item === body.item)
  log('formulary-update', { clinic: w.clinic, by: p.session.user, item: body.item, status: body.status })
  if (!out.settled || !entry)
    throw new ForbiddenError('role', `the ledger refused the formulary change of ${p.session.user}`)
  const reply: FormularyUpdateReply = { operation: out.operation.id, item: entry }
  return sendJson(res, 201, reply)
}
