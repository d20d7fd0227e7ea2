import { createHash } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Role, UserId } from '@clinic-mesh/contracts'

/** Who made a request: a logged-in user of this clinic. */
export interface Principal {
  user: UserId
  name: string
  role: Role
}

export interface StoredSession extends Principal {
  expiresAt: number
}

/** A shift: sessions end after 12 hours (a new login is a shift change). */
export const SESSION_MS = 12 * 60 * 60 * 1000
export const SESSION_COOKIE = 'cm_session'
/** File of the data dir holding this device's sessions (token hashes only). */
export const SESSIONS_FILE = 'sessions.json'

/** Sessions are stored by the sha-256 of their token: a copied data dir holds no usable token. */
export const tokenKey = (token: string): string => createHash('sha256').update(token).digest('hex')

/** The session token: `Authorization: Bearer …` or the `cm_session` cookie (browsers, including the /sync upgrade). */
export function tokenOf(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) return auth.slice(7).trim() || undefined
  const cookie = req.headers.cookie
  if (typeof cookie !== 'string') return undefined
  for (const part of cookie.split(';')) {
    const [k, ...v] = part.trim().split('=')
    if (k === SESSION_COOKIE) return v.join('=') || undefined
  }
  return undefined
}
