import type { Role, UserId } from '@clinic-mesh/contracts'
import { InvalidInputError } from '@clinic-mesh/contracts'
import {
  AccountLockedError,
  DEFAULT_LOGIN_POLICY,
  ForbiddenError,
  attemptsThatCount,
  failedAttempt,
  InvalidPasswordError,
  resolveUserId,
  unlockSigningKey,
  verifyPassword,
  type AttemptRecord,
  type LoginPolicy,
  type UserRecord,
  type UserRegister,
} from '@clinic-mesh/security'
import { ReviewerUnknownError } from './errors.js'

export interface CheckedUser {
  readonly user: UserId
  readonly name: string
  readonly role: Role
}

/** Past this many attempt records the expired ones are dropped (guesses at made-up names cannot grow it forever). */
const MAX_RECORDS = 10_000

/**
 * Checks a user's password against a clinic's register (the same scrypt verifier the tablets use) and takes the role
 * from the register, never from the request. Used for the console's sign-in (`POST /api/login`) and for the second
 * approver of a critical decision.
 *
 * Back-off (1, 2, 4, 8 s) and a 15-minute lockout after five failures are kept **per clinic and user**
 * (`usr_supervisor` exists in every clinic: a guesser at one clinic locks no one out of another), attempts of one
 * user serialised. An unknown user costs the same scrypt run as a wrong password (against the verifier of another
 * user of the same register, whose result is thrown away), and answers the same `InvalidPasswordError`, so timing and
 * answer do not say which user names exist.
 */
export class ReviewerCheck {
  readonly #policy: LoginPolicy
  readonly #now: () => number
  readonly #attempts = new Map<string, AttemptRecord>()
  readonly #queues = new Map<string, Promise<unknown>>()
  /** scrypt runs, known user or not (the relay logs it with each refusal; tests read it to see that one ran). */
  scryptRuns = 0

  constructor(init: { policy?: Partial<LoginPolicy>; now?: () => number } = {}) {
    this.#policy = { ...DEFAULT_LOGIN_POLICY, ...init.policy }
    this.#now = init.now ?? Date.now
  }

  /** `user` and `password` as the contract's schemas parse them (`RelayLoginRequestSchema`, `ApprovalRequestSchema`). */
  async check(
    clinic: string,
    register: UserRegister | undefined,
    user: string,
    password: string | undefined,
    what: string,
  ): Promise<CheckedUser> {
    if (!register) throw new ReviewerUnknownError('this clinic’s users have not reached the relay yet')
    if (password === undefined || password === '' || password.length > 200)
      throw new InvalidInputError(`${what}.password is required for this clinic`)
    let id: string
    try {
      id = resolveUserId(register, user.trim())
    } catch {
      id = user.trim().toLowerCase() // no letter or digit: no user has this name, but it still costs a scrypt run
    }
    const key = `${clinic}\u0000${id}`
    const before = this.#queues.get(key) ?? Promise.resolve()
    const attempt = before.catch(() => undefined).then(() => this.#attempt(key, register, id, password))
    this.#queues.set(key, attempt)
    const cleanup = (): void => {
      if (this.#queues.get(key) === attempt) this.#queues.delete(key)
    }
    void attempt.then(cleanup, cleanup)
    return attempt
  }

  async #attempt(key: string, register: UserRegister, id: string, password: string): Promise<CheckedUser> {
    const now = this.#now()
    const found = Object.hasOwn(register.users, id) ? register.users[id as UserId] : undefined
    const record = attemptsThatCount(this.#attempts.get(key), found !== undefined)
    if (record && now < record.blockedUntil)
      throw new AccountLockedError(record.blockedUntil, record.failures >= this.#policy.maxFailures)
    const failures = record && record.failures < this.#policy.maxFailures ? record.failures : 0
    let ok = false
    if (found) {
      this.scryptRuns++
      try {
        ;(await unlockSigningKey(id as UserId, found, password)).fill(0) // the relay signs with its own key; the user's is not kept
        ok = true
      } catch (err) {
        if (!(err instanceof InvalidPasswordError)) throw err
      }
    } else {
      const decoy = decoyOf(register)
      if (decoy) {
        this.scryptRuns++
        await verifyPassword(decoy, password) // same cost as a wrong password; the result does not count
      }
    }
    if (!found || !ok) {
      this.#remember(key, failedAttempt(failures + 1, found !== undefined, this.#policy, now))
      throw new InvalidPasswordError()
    }
    this.#attempts.delete(key)
    if (found.status !== 'active') throw new ForbiddenError('user-disabled', `user ${id} is disabled`)
    return { user: id as UserId, name: found.name, role: found.role }
  }

  #remember(key: string, record: AttemptRecord): void {
    this.#attempts.set(key, record)
    if (this.#attempts.size <= MAX_RECORDS) return
    const now = this.#now()
    for (const [k, r] of this.#attempts) if (r.blockedUntil <= now) this.#attempts.delete(k)
  }
}

/** A user of the register whose scrypt parameters an unknown name is checked against (same cost as a real user). */
function decoyOf(register: UserRegister): UserRecord | undefined {
  for (const u of Object.values(register.users)) if (u.passwordHash.alg === 'scrypt') return u
  return undefined
}
