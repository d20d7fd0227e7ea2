import type { Role, UserId } from '@clinic-mesh/contracts'
import { AccountLockedError, ForbiddenError, InvalidPasswordError } from './errors.js'
import { type UserRegister, unlockSigningKey } from './user-register.js'

/** Failed-attempt state of one user on this device. */
export interface AttemptRecord {
  readonly failures: number
  /** No attempt is checked before this time (ms since epoch). */
  readonly blockedUntil: number
  /** Every failure so far came while the register had no such user (not yet synced here). */
  readonly beforeUser?: true
}

/**
 * The record an attempt is judged by. Failures counted while the register did not have the user yet (a user
 * created on another tablet, tried here before their record arrived) do not hold against the user once they are
 * there: they would lock a real user out for what happened before they existed here.
 */
export function attemptsThatCount(
  record: AttemptRecord | undefined,
  userKnown: boolean,
): AttemptRecord | undefined {
  return record?.beforeUser && userKnown ? undefined : record
}

/** The record after one more failure: back-off `baseDelayMs · 2^(n−1)`, the lockout at `maxFailures`. */
export function failedAttempt(
  failures: number,
  userKnown: boolean,
  policy: LoginPolicy,
  now: number,
): AttemptRecord {
  const { maxFailures, lockoutMs, baseDelayMs } = policy
  const blockedUntil = failures >= maxFailures ? now + lockoutMs : now + baseDelayMs * 2 ** (failures - 1)
  return userKnown ? { failures, blockedUntil } : { failures, blockedUntil, beforeUser: true }
}

/** Where attempt state lives (a small local file on the device node; memory in tests). Not synced. */
export interface AttemptStore {
  get(userId: UserId): Promise<AttemptRecord | undefined>
  set(userId: UserId, record: AttemptRecord | undefined): Promise<void>
}

export class MemoryAttemptStore implements AttemptStore {
  readonly records = new Map<UserId, AttemptRecord>()
  async get(userId: UserId): Promise<AttemptRecord | undefined> {
    return Promise.resolve(this.records.get(userId))
  }
  async set(userId: UserId, record: AttemptRecord | undefined): Promise<void> {
    if (record) this.records.set(userId, record)
    else this.records.delete(userId)
    return Promise.resolve()
  }
}

export interface LoginPolicy {
  /** Failures that lock the account (default 5). */
  readonly maxFailures: number
  /** Lockout length in ms (default 15 minutes). */
  readonly lockoutMs: number
  /** Delay after the first failure, doubled after each further one (default 1 s: 1, 2, 4, 8 s). */
  readonly baseDelayMs: number
}

export const DEFAULT_LOGIN_POLICY: LoginPolicy = {
  maxFailures: 5,
  lockoutMs: 15 * 60_000,
  baseDelayMs: 1_000,
}

/** An unlocked user on this device. `signingKey` is the user's Ed25519 secret key: `logout` wipes it. */
export interface Session {
  readonly user: UserId
  readonly name: string
  readonly role: Role
  readonly signingKey: Uint8Array
  readonly publicKey: string
  readonly startedAt: number
}

export interface LoginGuardInit {
  readonly store: AttemptStore
  /** ms since epoch; injected so tests control time. */
  readonly now?: () => number
  readonly policy?: Partial<LoginPolicy>
}

/**
 * Offline login against the synced user register, with back-off and lockout per user on this device:
 * after a failure the next attempt waits 1, 2, 4, 8 s; the 5th failure locks the user for 15 minutes.
 * An attempt during a wait is refused with `AccountLockedError` without checking the password.
 */
export class LoginGuard {
  readonly #store: AttemptStore
  readonly #now: () => number
  readonly #policy: LoginPolicy
  /** Attempts for one user run one after another, so parallel guesses cannot all read the same failure count. */
  readonly #queues = new Map<UserId, Promise<unknown>>()

  constructor(init: LoginGuardInit) {
    this.#store = init.store
    this.#now = init.now ?? Date.now
    this.#policy = { ...DEFAULT_LOGIN_POLICY, ...init.policy }
  }

  async login(register: UserRegister, userId: UserId, password: string): Promise<Session> {
    const before = this.#queues.get(userId) ?? Promise.resolve()
    const attempt = before.catch(() => undefined).then(() => this.#attempt(register, userId, password))
    this.#queues.set(userId, attempt)
    const cleanup = (): void => {
      if (this.#queues.get(userId) === attempt) this.#queues.delete(userId)
    }
    void attempt.then(cleanup, cleanup)
    return attempt
  }

  async #attempt(register: UserRegister, userId: UserId, password: string): Promise<Session> {
    const now = this.#now()
    const user = Object.hasOwn(register.users, userId) ? register.users[userId] : undefined
    const record = attemptsThatCount(await this.#store.get(userId), user !== undefined)
    if (record && now < record.blockedUntil) {
      throw new AccountLockedError(record.blockedUntil, record.failures >= this.#policy.maxFailures)
    }
    // after a lockout has run out the user starts again with a clean count
    const failures = record && record.failures < this.#policy.maxFailures ? record.failures : 0
    let signingKey: Uint8Array | undefined
    try {
      if (user) signingKey = await unlockSigningKey(userId, user, password)
    } catch (err) {
      if (!(err instanceof InvalidPasswordError)) throw err
    }
    if (!user || !signingKey) {
      await this.#store.set(userId, failedAttempt(failures + 1, user !== undefined, this.#policy, now))
      throw new InvalidPasswordError()
    }
    await this.#store.set(userId, undefined)
    if (user.status !== 'active') {
      signingKey.fill(0)
      throw new ForbiddenError('user-disabled', `user ${userId} is disabled`)
    }
    return {
      user: userId,
      name: user.name,
      role: user.role,
      signingKey,
      publicKey: user.publicKey,
      startedAt: now,
    }
  }

  /** Shift change: the current user logs out, the next one logs in (both offline). */
  async changeShift(
    current: Session,
    register: UserRegister,
    userId: UserId,
    password: string,
  ): Promise<Session> {
    logout(current)
    return this.login(register, userId, password)
  }

  /** Attempt state of a user, e.g. to show "try again in 8 s". */
  async status(userId: UserId): Promise<AttemptRecord | undefined> {
    return this.#store.get(userId)
  }
}

/** Ends a session: wipes the signing key bytes so nothing signs with them afterwards. */
export function logout(session: Session): void {
  session.signingKey.fill(0)
}
