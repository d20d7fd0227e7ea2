import {
  DevicesReplySchema,
  JoinOfferSchema,
  MeshDialReplySchema,
  RevokeDeviceReplySchema,
  SessionReplySchema,
  UpdateUserReplySchema,
  UsersReplySchema,
  type CreateUserRequest,
  type DevicesReply,
  type JoinOffer,
  type MeshDialReply,
  type RevokeDeviceReply,
  type SessionReply,
  type UpdateUserReply,
  type UpdateUserRequest,
  type UsersReply,
} from '@clinic-mesh/contracts'
import { ApiError, api } from './api.js'
import { explainNodeError } from './node-errors.js'

/** Users and devices as the admin screen reads them (docs/api.md; shapes and schemas in @clinic-mesh/contracts device-api/). */
export type { AdminUser, DevicesReply, EnrolledDevice, JoinOffer, UsersReply } from '@clinic-mesh/contracts'

const SLOW_MS = 15_000 // creating a user derives its key with scrypt: seconds on a tablet

export const adminApi = {
  users: (): Promise<UsersReply> => api('GET', '/api/users', UsersReplySchema),
  createUser: (input: CreateUserRequest): Promise<SessionReply> =>
    api('POST', '/api/users', SessionReplySchema, input, SLOW_MS),
  updateUser: (id: string, change: UpdateUserRequest): Promise<UpdateUserReply> =>
    api('PATCH', `/api/users/${encodeURIComponent(id)}`, UpdateUserReplySchema, change, SLOW_MS),
  devices: (): Promise<DevicesReply> => api('GET', '/api/devices', DevicesReplySchema),
  revoke: (peerId: string, reason: string): Promise<RevokeDeviceReply> =>
    api('POST', '/api/devices/revoke', RevokeDeviceReplySchema, { peerId, reason }),
  joinCode: (): Promise<JoinOffer> => api('POST', '/api/join-codes', JoinOfferSchema, {}, SLOW_MS),
  /** "Connect to …": another tablet by `IPv4:port` when they do not find each other (multicast blocked) */
  dial: (address: string): Promise<MeshDialReply> =>
    api('POST', '/api/mesh/dial', MeshDialReplySchema, { address }, SLOW_MS),
}

export type AdminAction = 'load' | 'create-user' | 'update-user' | 'revoke' | 'join-code' | 'connect'

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
    case 'PeerUnreachableError':
      return 'No tablet of this clinic answered at that address. Check the address on the other tablet’s Admin screen and that both are on the same network.'
    case 'InvalidInputError':
      if (action === 'connect')
        return 'Type the address as four numbers and a port, for example 169.254.10.2:41234.'
      return explainNodeError(err)
    case 'AdminKeyUnavailableError':
      return action === 'revoke'
        ? 'Devices are revoked on the clinic’s admin device: this tablet does not hold the clinic admin key.'
        : 'Join codes are made on the clinic’s admin device: this tablet does not hold the clinic admin key.'
    default:
      return explainNodeError(err)
  }
}
