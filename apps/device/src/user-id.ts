import { InvalidInputError, type UserId } from '@clinic-mesh/contracts'
import { userIdOf as userIdOfName } from '@clinic-mesh/security'

/** `usr_<slug of the name>` (security package); a name without a letter or digit is bad input here. */
export function userIdOf(name: string): UserId {
  try {
    return userIdOfName(name)
  } catch {
    throw new InvalidInputError('a user name needs at least one letter or digit')
  }
}
