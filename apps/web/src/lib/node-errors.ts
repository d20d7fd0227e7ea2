import { ApiError } from './api.js'

/** The node no longer trusts this session's key or session: the way out is signing in again. */
export function needsSignIn(err: unknown): boolean {
  return (
    err instanceof ApiError && (err.name === 'SigningKeyLockedError' || err.name === 'UnauthenticatedError')
  )
}

/**
 * A device node error in plain words for the person at the tablet, for the names every screen can meet (branches on
 * the stable error `name`, docs/api.md). Screens explain their own names first and fall back to this.
 */
export function explainNodeError(err: unknown): string {
  if (!(err instanceof ApiError)) return err instanceof Error ? err.message : String(err)
  switch (err.name) {
    case 'SigningKeyLockedError':
      return 'Sign in again: this device restarted since you signed in.'
    case 'UnauthenticatedError':
      return 'Your session ended: sign in again.'
    case 'ClinicNotReadyError':
      return 'This tablet is still opening the clinic. Try again in a moment.'
    case 'DeviceUnreachableError':
      return 'This tablet’s clinic service is not answering. Try again in a moment.'
    case 'DeviceRevokedError':
      return 'This tablet was revoked from the clinic.'
    case 'InvalidInputError':
      return `Not accepted: ${err.message}.`
    default:
      return err.message
  }
}
