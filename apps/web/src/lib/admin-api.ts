import type { Role } from '@clinic-mesh/contracts'
import { ApiError, api } from './api.js'
import { explainNodeError } from './node-errors.js'

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

/** An admin API error in plain words for the person at the tablet (branches on the stable error `name`). */
export function explainAdminError(err: unknown, action: AdminAction): string {
  if (!(err instanceof ApiError)) return explainNodeError(err)
  switch (err.name) {
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
    default:
      return explainNodeError(err)
  }
}
