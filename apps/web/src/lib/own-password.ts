import { OkReplySchema, type PasswordChangeRequest } from '@clinic-mesh/contracts'
import { ApiError, api } from './api.js'
import { lockedUntil } from './format.js'
import { explainNodeError } from './node-errors.js'

// the node checks the old password (scrypt), unwraps the signing key with it and seals it under the new one:
// seconds on a tablet
const SLOW_MS = 20_000

/** `POST /api/password`: the signed-in user changes their own password; throws ApiError (docs/api.md). */
export async function changeOwnPassword(oldPassword: string, newPassword: string): Promise<void> {
  await api(
    'POST',
    '/api/password',
    OkReplySchema,
    { oldPassword, newPassword } satisfies PasswordChangeRequest,
    SLOW_MS,
  )
}

/** A refusal of `POST /api/password` in plain words (branches on the stable error `name`). */
export function explainPasswordError(err: unknown): string {
  if (!(err instanceof ApiError)) return explainNodeError(err)
  switch (err.name) {
    case 'InvalidPasswordError':
      return 'Your current password is not right. Type it again.'
    case 'AccountLockedError': {
      // the node says "account locked until <ISO time>" for the 15-minute lockout, else a short back-off
      const until = lockedUntil(err.message)
      return until
        ? `Too many wrong passwords: you are locked out on this tablet ${until}. If you forgot your password, ask the clinic admin.`
        : 'A wrong password was typed just before: wait a few seconds, then try again.'
    }
    case 'ForbiddenError':
      return 'This user is disabled. Ask the clinic admin.'
    default:
      return explainNodeError(err)
  }
}
