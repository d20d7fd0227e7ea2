import type { Role } from '@clinic-mesh/contracts'
import { ApiError, api } from './api.js'

/** A user as `GET /api/users` lists it (docs/api.md "Users, sessions and audit"). */
export interface AdminUser {
  id: string
  name: string
  role: Role
  status: 'active' | 'disabled'
}

export interface UsersReply {
  users: AdminUser[]
  /** ids of register records no clinic admin vouched for (a tampered device wrote them): ignored everywhere */
  unendorsed: string[]
}

export interface EnrolledDevice {
  peerId: string
  name: string
  enrolledAt: string
  revoked: boolean
}

/** `GET /api/devices` (docs/api.md "Devices and revocation"). */
export interface DevicesReply {
  self: string
  enrolled: EnrolledDevice[]
  revocations: { peerId: string; revokedAt: string; reason: string }[]
}

/** `POST /api/join-codes`: a one-time code (10 minutes) and where the new tablet sends its half. */
export interface JoinOffer {
  code: string
  expiresAt: string
  url: string
}

const SLOW_MS = 15_000 // creating a user derives its key with scrypt: seconds on a tablet

export const adminApi = {
  users: (): Promise<UsersReply> => api<UsersReply>('GET', '/api/users'),
  createUser: (input: { name: string; role: Role; password: string }): Promise<{ user: { id: string; name: string; role: Role } }> =>
    api('POST', '/api/users', input, SLOW_MS),
  updateUser: (id: string, change: { role?: Role; status?: AdminUser['status'] }): Promise<{ user: AdminUser }> =>
    api('PATCH', `/api/users/${encodeURIComponent(id)}`, change, SLOW_MS),
  devices: (): Promise<DevicesReply> => api<DevicesReply>('GET', '/api/devices'),
  revoke: (peerId: string, reason: string): Promise<{ revoked: { peerId: string; revokedAt: string } }> =>
    api('POST', '/api/devices/revoke', { peerId, reason }),
  joinCode: (): Promise<JoinOffer> => api<JoinOffer>('POST', '/api/join-codes', {}, SLOW_MS),
}

export type AdminAction = 'load' | 'create-user' | 'update-user' | 'revoke' | 'join-code'

/** The node no longer trusts this session's key or session: the way out is signing in again. */
export function needsSignIn(err: unknown): boolean {
  return err instanceof ApiError && (err.name === 'SigningKeyLockedError' || err.name === 'UnauthenticatedError')
}

/** An admin API error in plain words for the person at the tablet (branches on the stable error `name`). */
export function explainAdminError(err: unknown, action: AdminAction): string {
  if (!(err instanceof ApiError)) return err instanceof Error ? err.message : String(err)
  switch (err.name) {
    case 'SigningKeyLockedError':
      return 'Sign in again: this device restarted since you signed in.'
    case 'UnauthenticatedError':
      return 'Your session ended: sign in again.'
    case 'ForbiddenError':
      return 'Only the clinic admin can do this.'
    case 'UserExistsError':
      return 'A user with this name already exists. Use another name (for example add the surname).'
    case 'UnknownUserError':
      return 'This user is not in the clinic register any more. Reload the list.'
    case 'AdminKeyUnavailableError':
      return action === 'revoke'
        ? 'Devices are revoked on the clinic’s admin device: this tablet does not hold the clinic admin key.'
        : 'Join codes are made on the clinic’s admin device: this tablet does not hold the clinic admin key.'
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
