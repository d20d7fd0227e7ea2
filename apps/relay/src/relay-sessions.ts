import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Role, UserId } from '@clinic-mesh/contracts'
import type { CheckedUser } from './reviewer-check.js'
import { RelayHttpError } from './errors.js'

/** A console session lasts 12 hours from sign-in (a working day), then the reviewer signs in again. */
export const SESSION_TTL_MS = 12 * 60 * 60_000
/** Past this many live sessions the oldest is ended (sign-ins are already slowed by scrypt and back-off). */
const MAX_SESSIONS = 5_000

/** No `Authorization: Bearer`, or a token that is unknown, ended or expired: 401. */
export class UnauthenticatedError extends RelayHttpError {
  constructor(message = 'sign in first: Authorization: Bearer <token> from POST /api/login') {
    super('UnauthenticatedError', 401, message)
  }
}

/** A signed-in user (of one clinic) of the reviewer console. */
export interface RelaySession {
  readonly clinic: string
  readonly user: UserId
  readonly name: string
  readonly role: Role
  readonly expiresAt: number
}

/** Who a request is: a clinic's signed-in reviewer, or the relay's operator (monitoring, tests; every clinic). */
export type Principal =
  { readonly kind: 'session'; readonly session: RelaySession } | { readonly kind: 'operator' }

const sha256 = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest()

function bearerOf(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined
  const m = /^Bearer ([A-Za-z0-9_-]{16,200})$/.exec(header.trim())
  return m?.[1]
}

/**
 * The relay's console sessions, **in memory only**: a restart signs everyone out. Only the sha-256 of each token is
 * kept (a heap dump gives no usable token). The optional operator token is given to the relay as its sha-256 only
 * (`RELAY_OPERATOR_TOKEN_SHA256`): it reads every clinic's status, conflicts, inventory and rejects, and decides only
 * for clinics without a user register.
 */
export class RelaySessions {
  readonly #byHash = new Map<string, RelaySession>()
  readonly #operator: Buffer | undefined
  readonly #now: () => number
  readonly #ttlMs: number

  constructor(init: { operatorTokenSha256?: string | undefined; now?: () => number; ttlMs?: number } = {}) {
    const op = init.operatorTokenSha256?.trim()
    if (op !== undefined && op !== '' && !/^[0-9a-f]{64}$/.test(op))
      throw new RangeError('RELAY_OPERATOR_TOKEN_SHA256 must be 64 hex digits')
    this.#operator = op ? Buffer.from(op, 'hex') : undefined
    this.#now = init.now ?? Date.now
    this.#ttlMs = init.ttlMs ?? SESSION_TTL_MS
  }

  /** A new session for a user whose password was just checked; the token is returned once and never stored. */
  open(clinic: string, who: CheckedUser): { token: string; session: RelaySession } {
    this.#sweep()
    const token = randomBytes(32).toString('base64url')
    const session: RelaySession = {
      clinic,
      user: who.user,
      name: who.name,
      role: who.role,
      expiresAt: this.#now() + this.#ttlMs,
    }
    this.#byHash.set(sha256(token).toString('hex'), session)
    while (this.#byHash.size > MAX_SESSIONS) {
      const oldest = this.#byHash.keys().next().value
      if (oldest === undefined) break
      this.#byHash.delete(oldest)
    }
    return { token, session }
  }

  /** The principal of `Authorization`; `undefined` without the header; `UnauthenticatedError` for a bad token. */
  principal(header: string | string[] | undefined): Principal | undefined {
    if (header === undefined) return undefined
    const token = bearerOf(header)
    if (token === undefined) throw new UnauthenticatedError('Authorization must be Bearer <token>')
    const hash = sha256(token)
    if (this.#operator && timingSafeEqual(hash, this.#operator)) return { kind: 'operator' }
    const key = hash.toString('hex')
    const session = this.#byHash.get(key)
    if (!session) throw new UnauthenticatedError('the session is unknown or has ended: sign in again')
    if (this.#now() >= session.expiresAt) {
      this.#byHash.delete(key)
      throw new UnauthenticatedError('the session has expired: sign in again')
    }
    return { kind: 'session', session }
  }

  /** As `principal`, but a request without a token is refused. */
  require(header: string | string[] | undefined): Principal {
    const p = this.principal(header)
    if (!p) throw new UnauthenticatedError()
    return p
  }

  /** Ends the session of this token (the operator token cannot be ended here). */
  close(header: string | string[] | undefined): boolean {
    const token = bearerOf(header)
    return token !== undefined && this.#byHash.delete(sha256(token).toString('hex'))
  }

  #sweep(): void {
    const now = this.#now()
    for (const [k, s] of this.#byHash) if (now >= s.expiresAt) this.#byHash.delete(k)
  }
}
