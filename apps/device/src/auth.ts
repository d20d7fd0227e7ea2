import { createHash, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { IncomingMessage } from 'node:http'
import type { DocHandle } from '@automerge/automerge-repo'
import {
  InvalidInputError,
  type AdminUser,
  type CreateUserRequest,
  type LoginRequest,
  type Role,
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
  reconcileUsers,
  resolveUserId,
  rewrapUser,
  userIdOf as userIdOfName,
  verifyPassword,
  withoutVerifiers,
  type UserRecord,
  type Action,
  type AttemptRecord,
  type PolicyContext,
  type AttemptStore,
  type LoginPolicy,
  type ScryptParams,
  type Session,
  type UserHighWater,
  type UserRegister,
  type UserRegisterDoc,
} from '@clinic-mesh/security'
import { holdsAdminKeyFor, rewrapAdminKey, unlockAdminKey } from './admin-key.js'
import { writeJsonAtomic } from './clinic-file.js'
import { SigningKeyLockedError, UnauthenticatedError, UnknownUserError, UserExistsError } from './errors.js'
import { log } from './log.js'

/** The user register as a document (the security package's UserRegister plus a kind tag). */
export type { UserRegisterDoc } from '@clinic-mesh/security'

/** Who made a request: a logged-in user of this clinic. */
export interface Principal {
  user: UserId
  name: string
  role: Role
}

interface StoredSession extends Principal {
  expiresAt: number
}

/** A shift: sessions end after 12 hours (a new login is a shift change). */
export const SESSION_MS = 12 * 60 * 60 * 1000
export const SESSION_COOKIE = 'cm_session'
/** Files of the data dir holding this device's sessions (token hashes) and failed-login counters. */
export const SESSIONS_FILE = 'sessions.json'
export const ATTEMPTS_FILE = 'login-attempts.json'
/**
 * The newest verified record of each user this device has seen (endorsement and credential versions): an older
 * record written back into the register never wins again, also after a restart. Staff names, roles, public keys,
 * endorsements and credential signatures only — no password verifier or wrapped key (those stay in the encrypted repo).
 */
export const USER_VERSIONS_FILE = 'user-versions.json'

/** `usr_<slug of the name>` (security package); a name without a letter or digit is bad input here. */
export function userIdOf(name: string): UserId {
  try {
    return userIdOfName(name)
  } catch {
    throw new InvalidInputError('a user name needs at least one letter or digit')
  }
}

const tokenKey = (token: string): string => createHash('sha256').update(token).digest('hex')

/** A small JSON file of this device's failed-login counters (user ids and numbers only; not synced). */
class FileAttemptStore implements AttemptStore {
  readonly #file: string
  #records: Record<string, AttemptRecord> | undefined

  constructor(file: string) {
    this.#file = file
  }

  async #load(): Promise<Record<string, AttemptRecord>> {
    this.#records ??= await readFile(this.#file, 'utf8').then(
      (t) => JSON.parse(t) as Record<string, AttemptRecord>,
      () => ({}),
    )
    return this.#records
  }

  async get(userId: UserId): Promise<AttemptRecord | undefined> {
    return (await this.#load())[userId]
  }

  async set(userId: UserId, record: AttemptRecord | undefined): Promise<void> {
    const all = await this.#load()
    if (record) all[userId] = record
    else delete all[userId]
    await writeJsonAtomic(this.#file, all)
  }
}

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
  readonly #rootKeys: readonly string[]
  /** The endorsed users, recomputed when the register changes (every request asks). */
  #valid: UserRegister | undefined
  /** High-water state: the newest verified record per user (in memory with credentials, on disk without). */
  #held: UserHighWater
  readonly #versionsFile: string
  #saving: Promise<void> = Promise.resolve()
  /** Records this device already wrote back over an older one (each at most once: no write ping-pong). */
  readonly #restored = new Set<string>()
  readonly #conflictsLogged = new Set<string>()
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
    held: UserHighWater,
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
    this.#rootKeys = init.rootKeys
    this.#held = held
    this.#versionsFile = join(init.dataDir, USER_VERSIONS_FILE)
    // verified at once (not at the next request): a record seen only briefly still raises the high-water mark
    register.on('change', () => this.#refresh())
    this.#refresh()
  }

  /**
   * The register as this device believes it: only records endorsed by a clinic admin key or a valid admin user
   * (any member device can write the document itself), and never older than the newest this device verified.
   * Unendorsed records cannot log in, sign or be listed.
   */
  #endorsed(): UserRegister {
    return this.#valid ?? this.#refresh()
  }

  /** Re-reads the register against the high-water state; persists a raised mark; writes a newer record back. */
  #refresh(): UserRegister {
    const doc = JSON.parse(JSON.stringify(this.#register.doc() ?? { users: {} })) as UserRegister
    const r = reconcileUsers({ users: doc.users ?? {} }, this.#held, this.#rootKeys)
    this.#held = r.held
    this.#valid = r.users
    if (r.changed) {
      const snapshot = { users: withoutVerifiers(r.held) }
      this.#saving = this.#saving
        .then(() => writeJsonAtomic(this.#versionsFile, snapshot))
        .catch((err: unknown) =>
          log('user-versions-save-failed', { error: err instanceof Error ? err.name : 'unknown' }),
        )
    }
    for (const id of r.conflicts) {
      if (!this.#conflictsLogged.has(id)) log('user-record-conflict', { user: id })
      this.#conflictsLogged.add(id)
    }
    const mark = (id: string): string => {
      const u: { endorsement?: { signature: string }; credentialSignature?: string } | undefined =
        r.users.users[id]
      return `${id}:${u?.endorsement?.signature ?? ''}:${u?.credentialSignature ?? ''}`
    }
    const restore = r.stale.filter((id) => !this.#restored.has(mark(id)))
    if (restore.length > 0) {
      // an older (or no) record in the document: put the newest back, so devices that never saw it learn it too
      for (const id of restore) this.#restored.add(mark(id))
      const records = Object.fromEntries(
        restore.map((id) => [id, JSON.parse(JSON.stringify(r.users.users[id])) as UserRecord]),
      )
      setImmediate(() => {
        try {
          this.#register.change((d) => {
            d.users ??= {}
            for (const [id, record] of Object.entries(records)) d.users[id] = record
          })
          for (const id of restore) log('user-record-restored', { user: id })
        } catch (err) {
          log('user-record-restore-failed', { error: err instanceof Error ? err.name : 'unknown' }) // e.g. the repo shut down meanwhile
        }
      })
    }
    return r.users
  }

  /** The high-water state is on disk (a change an API call made is answered only once it is). */
  persisted(): Promise<void> {
    return this.#saving
  }

  static async open(register: DocHandle<UserRegisterDoc>, init: DeviceAuthInit): Promise<DeviceAuth> {
    const file = join(init.dataDir, SESSIONS_FILE)
    const saved = await readFile(file, 'utf8').then(
      (t) => JSON.parse(t) as Record<string, StoredSession>,
      () => ({}),
    )
    const held = await readFile(join(init.dataDir, USER_VERSIONS_FILE), 'utf8').then(
      (t) => (JSON.parse(t) as { users?: UserHighWater }).users ?? {},
      () => ({}),
    )
    return new DeviceAuth(register, init, new Map(Object.entries(saved)), held)
  }

  /** Users as the admin screen lists them (no hashes or keys). */
  users(): AdminUser[] {
    return Object.entries(this.#endorsed().users).map(([id, u]) => ({
      id,
      name: u.name,
      role: u.role,
      status: u.status,
    }))
  }

  #endorsedUser(id: string): UserRecord | undefined {
    const users = this.#endorsed().users
    return Object.hasOwn(users, id) ? users[id] : undefined
  }

  /** Ids in the register document that no valid endorsement chain vouches for: ignored here, shown to admins. */
  unendorsed(): string[] {
    const valid = this.#endorsed().users
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
    const session = await this.#guard.login(this.#endorsed(), me.user, oldPassword)
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
    this.#refresh()
    await this.#saving
    await this.#flush()
  }

  /** In the register document, or known to this device (whose newest record of them the document may have lost). */
  hasUser(id: UserId): boolean {
    return this.#register.doc()?.users?.[id] !== undefined || Object.hasOwn(this.#held, id)
  }

  /** Offline login (user id or name + password) → a new session token for this device. */
  /** `input` as the contract's `LoginRequestSchema` parses it. */
  async login(input: LoginRequest): Promise<{ token: string; principal: Principal; expiresAt: number }> {
    const register = this.#endorsed()
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
    const u = this.#endorsed().users[s.user]
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
