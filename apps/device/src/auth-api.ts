import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  CreateUserRequestSchema,
  InvalidInputError,
  LoginRequestSchema,
  PasswordChangeRequestSchema,
  UpdateUserRequestSchema,
  type SessionUser,
  type UsersReply,
} from '@clinic-mesh/contracts'
import { ForbiddenError } from '@clinic-mesh/security'
import type { DeviceAudit } from './audit.js'
import { SESSION_COOKIE, SESSION_MS, tokenOf, type DeviceAuth, type Principal } from './auth.js'
import { readBody, sendJson } from './http-util.js'

const AUDIT_READERS = new Set(['admin', 'supervisor', 'reviewer'])

function sessionCookie(token: string, maxAgeS: number): string {
  return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}`
}

/**
 * Login, logout, users and audit routes (docs/api.md "Users, sessions and audit"). Returns false when the path is
 * not one of them.
 */
export async function authRoute(
  auth: DeviceAuth,
  audit: DeviceAudit,
  req: IncomingMessage,
  res: ServerResponse,
  parts: string[],
  url: URL,
): Promise<boolean> {
  const method = req.method ?? 'GET'
  const [, a] = parts
  if (a === 'password' && parts.length === 2 && method === 'POST') {
    const me = auth.require(req)
    const body = await readBody(req, PasswordChangeRequestSchema)
    await auth.changeOwnPassword(me, body.oldPassword, body.newPassword)
    await audit.record(me.user, 'change', `user:${me.user}:password`)
    sendJson(res, 200, { ok: true })
    return true
  }
  if (a === 'users' && parts.length === 3 && method === 'PATCH') {
    // role change or disabling (an employee who left): a whole new record, endorsed by this admin
    const { principal: admin, userKey } = auth.requireSigner(req, 'manage-users')
    const body = await readBody(req, UpdateUserRequestSchema)
    const updated = await auth.updateUser(admin, parts[2] ?? '', body, userKey)
    await audit.record(admin.user, 'change', `user:${updated.id}`)
    sendJson(res, 200, { user: updated })
    return true
  }
  if (parts.length !== 2) return false
  if (a === 'login' && method === 'POST') {
    const body = await readBody(req, LoginRequestSchema)
    const { token, principal, expiresAt } = await auth.login(body)
    await audit.record(principal.user, 'change', 'session:login')
    res.setHeader('set-cookie', sessionCookie(token, SESSION_MS / 1000))
    sendJson(res, 200, { user: view(principal), expiresAt: new Date(expiresAt).toISOString(), token })
    return true
  }
  if (a === 'logout' && method === 'POST') {
    const p = auth.principal(req)
    await auth.logout(tokenOf(req))
    if (p) await audit.record(p.user, 'change', 'session:logout')
    res.setHeader('set-cookie', sessionCookie('', 0))
    sendJson(res, 200, { ok: true })
    return true
  }
  if (a === 'session' && method === 'GET') {
    sendJson(res, 200, { user: view(auth.require(req)) })
    return true
  }
  if (a === 'users' && method === 'GET') {
    auth.require(req, 'manage-users')
    const reply: UsersReply = { users: auth.users(), unendorsed: auth.unendorsed() }
    sendJson(res, 200, reply)
    return true
  }
  if (a === 'users' && method === 'POST') {
    // the new record is endorsed with the admin's own signing key (unlocked at their sign-in)
    const { principal: admin, userKey } = auth.requireSigner(req, 'manage-users')
    const body = await readBody(req, CreateUserRequestSchema)
    const created = await auth.createUser(admin, body, userKey)
    await audit.record(admin.user, 'change', `user:${created.user}`)
    sendJson(res, 201, { user: view(created) })
    return true
  }
  if (a === 'audit' && method === 'GET') {
    const p = auth.require(req)
    if (!AUDIT_READERS.has(p.role)) throw new ForbiddenError('role', `${p.role} may not read the audit trail`)
    const patient = url.searchParams.get('patient')
    const target = patient ? `patient:${patient}` : url.searchParams.get('target')
    if (!target) throw new InvalidInputError('give ?patient=ID or ?target=TARGET')
    sendJson(res, 200, await audit.whoTouched(target))
    return true
  }
  return false
}

const view = (p: Principal): SessionUser => ({ id: p.user, name: p.name, role: p.role })
