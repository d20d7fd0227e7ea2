import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { IncomingMessage } from 'node:http'
import type { DocHandle } from '@automerge/automerge-repo'
import {
  InvalidInputError,
  type AdminUser,
  type CreateUserRequest,
  type LoginRequest,
  type UpdateUserRequest,
  type UserId,
} from '@clinic-mesh/contracts'
import {
  InvalidPasswordError,
  LoginGuard,
  PASSWORD_SCRYPT,
  assertCan,
  createUser,
  endorseUser,
  logout,
  nextVersion,
  resolveUserId,
  rewrapUser,
  verifyPassword,
  type UserRecord,
  type Action,
  type PolicyContext,
  type LoginPolicy,
  type ScryptParams,
  type Session,
  type UserRegisterDoc,
} from '@clinic-mesh/security'
import { holdsAdminKeyFor, rewrapAdminKey, unlockAdminKey } from './admin-key.js'
import { writeJsonAtomic } from './clinic-file.js'
import { SigningKeyLockedError, UnauthenticatedError, UnknownUserError, UserExistsError } from './errors.js'
import { VerifiedRegister } from './verified-register.js'

import { ATTEMPTS_FILE, FileAttemptStore } from './login-attempts.js'
import { userIdOf } from './user-id.js'
import {
  SESSION_MS,
  SESSIONS_FILE,
  tokenKey,
  tokenOf,
  type Principal,
  type StoredSession,
} from './auth-session.js'

export { SESSION_COOKIE, SESSION_MS, SESSIONS_FILE, tokenOf, type Principal } from './auth-session.js'
export { ATTEMPTS_FILE } from './login-attempts.js'
export { userIdOf } from './user-id.js'

/** The user register as a document (the security package's UserRegister plus a kind tag). */
export type { UserRegisterDoc } from '@clinic-mesh/security'

export { USER_VERSIONS_FILE } from './verified-register.js'

export interface DeviceAuthInit {
  dataDir: string
  /** The clinic's admin public keys (hex): only users whose endorsement chain ends in one of them count. */
  rootKeys: readonly string[]
  /** Writes the register to storage (a created user is on disk before the API answers). */
  flush: () => Promise<void>
  /** Login back-off (tests shorten it); defaults to the security package's 1 s doubling, lock after 5. */
  loginPolicy?: Partial<LoginPolicy>
  /** Password hashing cost; defaults to the security package's PASSWORD_SCRYPT. */
  scrypt?: ScryptParams
  now?: () => number
}

/**
 * Users, login and sessions of one device node. The user register is a clinic document (synced, so a user created
 * on one tablet logs in on another with no network); failed-attempt counters and sessions are local files. A session
 * is a random token (cookie or `Authorization: Bearer`); only its sha-256 is stored, so a copied data dir holds no
 * usable token.
 */
export class DeviceAuth {
  readonly #register: DocHandle<UserRegisterDoc>
  /** The register as verified against the clinic's keys and this device's high-water marks. */
  readonly #verified: VerifiedRegister
  readonly #flush: () => Promise<void>
  readonly #guard: LoginGuard
  readonly #sessionsFile: string
  readonly #sessions: Map<string, StoredSession>
  readonly #keys = new Map<string, Session>()
  /** The clinic admin secret key unlocked by an admin's sign-in on the founding device, per session (memory only). */
  readonly #adminKeys = new Map<string, Uint8Array>()
  readonly #dataDir: string
  readonly #scrypt: ScryptParams | undefined
  readonly #now: () => number
  /** The endorsed users, recomputed when the register changes (every request asks). */
  /** A record with a random verifier at the password cost, checked for names not in the register. */
  get #unknownUser(): UserRecord {
    const cost = this.#scrypt ?? PASSWORD_SCRYPT
    return {
      passwordHash: {
        alg: 'scrypt',
        N: cost.N,
        r: cost.r,
        p: cost.p,
        salt: randomBytes(16).toString('hex'),
        hash: randomBytes(32).toString('hex'),
      },
    } as UserRecord
  }

  private constructor(
    register: DocHandle<UserRegisterDoc>,
    init: DeviceAuthInit,
    sessions: Map<string, StoredSession>,
    verified: VerifiedRegister,
  ) {
    this.#register = register
    this.#dataDir = init.dataDir
    this.#flush = init.flush
    this.#now = init.now ?? Date.now
    this.#guard = new LoginGuard({
      store: new FileAttemptStore(join(init.dataDir, ATTEMPTS_FILE)),
      now: this.#now,
      policy: init.loginPolicy,
    })
    this.#sessionsFile = join(init.dataDir, SESSIONS_FILE)
    this.#sessions = sessions
    this.#scrypt = init.scrypt
    this.#verified = verified
  }

  /** The high-water state is on disk (a change an API call made is answered only once it is). */
  persisted(): Promise<void> {
    return this.#verified.persisted()
  }

  static async open(register: DocHandle<UserRegisterDoc>, init: DeviceAuthInit): Promise<DeviceAuth> {
    const file = join(init.dataDir, SESSIONS_FILE)
    const saved = await readFile(file, 'utf8').then(
      (t) => JSON.parse(t) as Record<string, StoredSession>,
      () => ({}),
    )
    const verified = await VerifiedRegister.open(register, init.rootKeys, init.dataDir)
    return new DeviceAuth(register, init, new Map(Object.entries(saved)), verified)
  }

  /** Users as the admin screen lists them (no hashes or keys). */
  users(): AdminUser[] {
    return Object.entries(this.#verified.endorsed().users).map(([id, u]) => ({
      id,
      name: u.name,
      role: u.role,
      status: u.status,
    }))
  }

  #endorsedUser(id: string): UserRecord | undefined {
    const users = this.#verified.endorsed().users
    return Object.hasOwn(users, id) ? users[id] : undefined
  }

  /** Ids in the register document that no valid endorsement chain vouches for: ignored here, shown to admins. */
  unendorsed(): string[] {
    const valid = this.#verified.endorsed().users
    return Object.keys(this.#register.doc()?.users ?? {}).filter((id) => !Object.hasOwn(valid, id))
  }

  /**
   * Creates a user in the synced register, endorsed by `endorser`: the acting admin's unlocked signing key, or (the
   * founder's bootstrap, no actor) the clinic admin key. Only admins (`manage-users`).
   */
  /** `input` as the contract's `CreateUserRequestSchema` parses it (name trimmed, a clinic role, a password of 8-200). */
  async createUser(
    actor: Principal | undefined,
    input: CreateUserRequest,
    endorser: Uint8Array,
  ): Promise<Principal> {
    if (actor) assertCan(actor.role, 'manage-users', { online: false })
    const id = userIdOf(input.name)
    // also a user this device knows though the document lost them: a new record (version 1) would never beat theirs
    if (this.hasUser(id)) throw new UserExistsError(`user ${id} already exists`)
    const created = await createUser({
      userId: id,
      name: input.name.trim(),
      role: input.role,
      password: input.password,
      ...(this.#scrypt ? { scrypt: this.#scrypt } : {}),
    })
    const record = endorseUser(id, created, endorser)
    this.#register.change((d) => {
      d.users ??= {}
      // one whole object: a concurrent write of the same id wins or loses entirely, never a mix that breaks the signature
      d.users[id] = JSON.parse(JSON.stringify(record)) as UserRecord
    })
    await this.#settled()
    return { user: id, name: record.name, role: record.role }
  }

  /**
   * Changes a user's role or status (`active` | `disabled`): the whole record is replaced by a copy endorsed by the
   * acting admin at the next version (older records never win again on any device that saw it). A disabled user's
   * sessions end at once (`principal` checks the status); signatures they made before stay valid. An admin cannot
   * disable or demote themself (a clinic must keep an admin who can sign in).
   */
  async updateUser(
    actor: Principal,
    id: string,
    change: UpdateUserRequest,
    endorser: Uint8Array,
  ): Promise<AdminUser> {
    assertCan(actor.role, 'manage-users', { online: false })
    const current = this.#endorsedUser(id)
    if (!current) throw new UnknownUserError(`no user ${id}`)
    const role = change.role ?? current.role
    const status = change.status ?? current.status
    if (id === actor.user && (status !== 'active' || role !== 'admin'))
      throw new InvalidInputError('an admin cannot disable or demote themself: ask another admin')
    const record = endorseUser(
      id as UserId,
      { ...current, role, status, version: nextVersion(current) },
      endorser,
    )
    this.#register.change((d) => {
      d.users ??= {}
      d.users[id] = JSON.parse(JSON.stringify(record)) as UserRecord
    })
    await this.#settled()
    return { id, name: record.name, role, status }
  }

  /**
   * The signed-in user changes their own password (the founder's generated one first of all): same signing key,
   * new verifier and wrap at the next credential version, signed by their key; the admin's endorsement of who they
   * are stays as it was.
   */
  /** The passwords as the contract's `PasswordChangeRequestSchema` parses them (the new one 8-200 characters). */
  async changeOwnPassword(me: Principal, oldPassword: string, newPassword: string): Promise<void> {
    const current = this.#endorsedUser(me.user)
    if (!current) throw new UnknownUserError(`no user ${me.user}`)
    // the old password goes through the login guard: a wrong one backs off and locks like a failed sign-in; the key
    // that sign-in unlocked is re-wrapped under the new password
    const session = await this.#guard.login(this.#verified.endorsed(), me.user, oldPassword)
    let record: UserRecord
    try {
      record = await rewrapUser(me.user, current, session.signingKey, newPassword, this.#scrypt)
      // the clinic admin key this admin unlocks on this device follows their password (wrapped under the new one)
      await rewrapAdminKey(this.#dataDir, me.user, oldPassword, newPassword)
    } finally {
      logout(session)
    }
    this.#register.change((d) => {
      d.users ??= {}
      d.users[me.user] = JSON.parse(JSON.stringify(record)) as UserRecord
    })
    await this.#settled()
  }

  /** After a write to the register: verified, its high-water mark on disk, the document flushed. */
  async #settled(): Promise<void> {
    this.#verified.refresh()
    await this.#verified.persisted()
    await this.#flush()
  }

  /** In the register document, or known to this device (whose newest record of them the document may have lost). */
  hasUser(id: UserId): boolean {
    return this.#register.doc()?.users?.[id] !== undefined || this.#verified.holds(id)
  }

  /** Offline login (user id or name + password) → a new session token for this device. */
  /** `input` as the contract's `LoginRequestSchema` parses it. */
  async login(input: LoginRequest): Promise<{ token: string; principal: Principal; expiresAt: number }> {
    const register = this.#verified.endorsed()
    const id = input.user.startsWith('usr_') ? resolveUserId(register, input.user) : userIdOf(input.user)
    // an id not (yet) in the register — e.g. before it synced to a new tablet — does not count towards a lockout
    if (!Object.hasOwn(register.users, id)) {
      // the same scrypt work as a wrong password (a verifier no password matches): the answer's timing names no user
      await verifyPassword(this.#unknownUser, input.password)
      throw new InvalidPasswordError()
    }
    const session = await this.#guard.login(register, id, input.password)
    const token = randomBytes(32).toString('base64url')
    // the unlocked signing key stays in memory only, for this session's stock operations; logout wipes it
    this.#keys.set(tokenKey(token), session)
    // on the founding device an admin's password also unwraps the clinic admin key: memory only, for this session
    const adminKey =
      session.role === 'admin' ? await unlockAdminKey(this.#dataDir, id, input.password) : undefined
    if (adminKey) this.#adminKeys.set(tokenKey(token), adminKey)
    const principal: Principal = { user: session.user, name: session.name, role: session.role }
    const expiresAt = this.#now() + SESSION_MS
    this.#sessions.set(tokenKey(token), { ...principal, expiresAt })
    await this.#save()
    return { token, principal, expiresAt }
  }

  /**
   * A second person at this tablet proves who they are with their password (a supervisor approving an adjustment on
   * site): the login guard of a sign-in (back-off, lockout per user), but no session is opened. The caller wipes the
   * returned signing key (`logout` of @clinic-mesh/security) once it has signed.
   */
  async unlockWitness(user: string, password: string): Promise<Session> {
    const register = this.#verified.endorsed()
    const id = user.startsWith('usr_') ? resolveUserId(register, user) : userIdOf(user)
    if (!Object.hasOwn(register.users, id)) {
      await verifyPassword(this.#unknownUser, password)
      throw new InvalidPasswordError()
    }
    return this.#guard.login(register, id, password)
  }

  async logout(token: string | undefined): Promise<void> {
    if (!token) return
    const k = tokenKey(token)
    const unlocked = this.#keys.get(k)
    if (unlocked) logout(unlocked)
    this.#keys.delete(k)
    this.#adminKeys.get(k)?.fill(0)
    this.#adminKeys.delete(k)
    if (this.#sessions.delete(k)) await this.#save()
  }

  /**
   * The request's user with their unlocked signing key. A session restored after a restart of the node has no key
   * (it never touches the disk): SigningKeyLockedError asks the user to sign in again.
   */
  requireSigner(
    req: IncomingMessage,
    action?: Action,
    ctx: PolicyContext = { online: false },
  ): { principal: Principal; userKey: Uint8Array } {
    const principal = this.require(req, action, ctx)
    const token = tokenOf(req)
    const unlocked = token ? this.#keys.get(tokenKey(token)) : undefined
    if (!unlocked || unlocked.signingKey.every((b) => b === 0))
      throw new SigningKeyLockedError('sign in again: your signing key is locked since this device restarted')
    return { principal, userKey: unlocked.signingKey }
  }

  /**
   * The clinic admin secret key unlocked by this request's session (an admin who signed in on the device holding
   * the wrapped key), or undefined. `locked`: this device holds the key wrapped for this user, so signing in again
   * unlocks it.
   */
  adminKeyOf(req: IncomingMessage): { key?: Uint8Array; locked: boolean } {
    const token = tokenOf(req)
    const p = this.principal(req)
    const key = token && p ? this.#adminKeys.get(tokenKey(token)) : undefined
    return key && !key.every((b) => b === 0)
      ? { key, locked: false }
      : { locked: p !== undefined && holdsAdminKeyFor(this.#dataDir, p.user) }
  }

  /** The session behind a request, or undefined. A disabled or deleted user, or a changed role, ends it. */
  principal(req: IncomingMessage): Principal | undefined {
    const token = tokenOf(req)
    if (!token) return undefined
    const s = this.#sessions.get(tokenKey(token))
    if (!s || s.expiresAt <= this.#now()) return undefined
    const u = this.#verified.endorsed().users[s.user]
    if (!u || u.status !== 'active' || u.role !== s.role) return undefined
    return { user: s.user, name: s.name, role: s.role }
  }

  /** The request's user, allowed to do `action`; throws UnauthenticatedError / ForbiddenError. */
  require(req: IncomingMessage, action?: Action, ctx: PolicyContext = { online: false }): Principal {
    const p = this.principal(req)
    if (!p) throw new UnauthenticatedError('log in first (POST /api/login)')
    if (action) assertCan(p.role, action, ctx)
    return p
  }

  async #save(): Promise<void> {
    const now = this.#now()
    for (const [k, s] of this.#sessions) if (s.expiresAt <= now) this.#sessions.delete(k)
    await writeJsonAtomic(this.#sessionsFile, Object.fromEntries(this.#sessions))
  }
}
