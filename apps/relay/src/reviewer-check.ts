import type { Role, UserId } from '@clinic-mesh/contracts'
import { InvalidInputError } from '@clinic-mesh/contracts'
import { LoginGuard, MemoryAttemptStore, logout, resolveUserId, type UserRegister } from '@clinic-mesh/security'
import { ReviewerUnknownError } from './errors.js'

export interface CheckedUser {
  readonly user: UserId
  readonly role: Role
}

/**
 * Who resolves a conflict of a clinic whose users are in a register: the reviewer and, for critical conflicts, the
 * approver each give their password with the decision; the relay checks it against the clinic's register (the
 * same scrypt verifier the tablets use, with back-off and lockout per user) and takes the role from the register,
 * never from the request.
 */
export class ReviewerCheck {
  readonly #guard = new LoginGuard({ store: new MemoryAttemptStore() })

  async check(register: UserRegister | undefined, user: unknown, password: unknown, what: string): Promise<CheckedUser> {
    if (!register) throw new ReviewerUnknownError('this clinic’s users have not reached the relay yet')
    if (typeof user !== 'string' || user.trim() === '' || user.length > 100) throw new InvalidInputError(`${what}.user must be a user name or id`)
    if (typeof password !== 'string' || password === '' || password.length > 200) throw new InvalidInputError(`${what}.password is required for this clinic`)
    let id: UserId
    try {
      id = resolveUserId(register, user.trim())
    } catch {
      throw new InvalidInputError(`${what}.user must be a user name or id`)
    }
    const session = await this.#guard.login(register, id, password)
    logout(session) // the relay signs its resolution operations with its own log; the user's key is not kept
    return { user: session.user, role: session.role }
  }
}
