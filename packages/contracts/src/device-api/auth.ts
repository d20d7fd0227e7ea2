import * as v from 'valibot'
import { id, nonEmpty, oneOf, text } from '../fields.js'
import type { UserId } from '../ids.js'
import { RoleSchema } from '../role-schema.js'

/** Users, sessions and audit (docs/api.md): request and reply bodies. */

const password = v.pipe(
  v.string('must be text'),
  v.minLength(8, 'must be at least 8 characters'),
  v.maxLength(200, 'must be at most 200 characters'),
)

/** `POST /api/login` (the user's name or id). */
export const LoginRequestSchema = v.object({
  user: v.pipe(v.string('must be text'), v.trim(), nonEmpty(100)),
  password: text(200),
})
export type LoginRequest = v.InferOutput<typeof LoginRequestSchema>

/** `POST /api/password`: the signed-in user's own password. */
export const PasswordChangeRequestSchema = v.object({ oldPassword: text(200), newPassword: password })
export type PasswordChangeRequest = v.InferOutput<typeof PasswordChangeRequestSchema>

/** `POST /api/users` (admin). */
export const CreateUserRequestSchema = v.object({
  name: v.pipe(v.string('must be text'), v.trim(), nonEmpty(100)),
  role: RoleSchema,
  password,
})
export type CreateUserRequest = v.InferOutput<typeof CreateUserRequestSchema>

export const USER_STATUSES = ['active', 'disabled'] as const
export const UserStatusSchema = oneOf(USER_STATUSES)

/** `PATCH /api/users/:id` (admin): a role change or disabling, at least one of them. */
export const UpdateUserRequestSchema = v.pipe(
  v.object({ role: v.optional(RoleSchema), status: v.optional(UserStatusSchema) }),
  v.check((c) => c.role !== undefined || c.status !== undefined, 'must give role and/or status'),
)
export type UpdateUserRequest = v.InferOutput<typeof UpdateUserRequestSchema>

/** The signed-in user as the device API shows them. */
export const SessionUserSchema = v.object({ id: id<UserId>(), name: v.string(), role: RoleSchema })
export type SessionUser = v.InferOutput<typeof SessionUserSchema>

/** `GET /api/session`, and `POST /api/users` (the created user). */
export const SessionReplySchema = v.object({ user: SessionUserSchema })
export type SessionReply = v.InferOutput<typeof SessionReplySchema>

/** `POST /api/login`: the session token is also set as an HttpOnly cookie. */
export const LoginReplySchema = v.object({
  user: SessionUserSchema,
  expiresAt: v.string(),
  token: v.string(),
})
export type LoginReply = v.InferOutput<typeof LoginReplySchema>

/** A user as `GET /api/users` lists it. */
export const AdminUserSchema = v.object({
  id: v.string(),
  name: v.string(),
  role: RoleSchema,
  status: UserStatusSchema,
})
export type AdminUser = v.InferOutput<typeof AdminUserSchema>

export const UsersReplySchema = v.object({
  users: v.array(AdminUserSchema),
  /** ids of register records no clinic admin vouched for (a tampered device wrote them): ignored everywhere */
  unendorsed: v.array(v.string()),
})
export type UsersReply = v.InferOutput<typeof UsersReplySchema>

/** `PATCH /api/users/:id`. */
export const UpdateUserReplySchema = v.object({ user: AdminUserSchema })
export type UpdateUserReply = v.InferOutput<typeof UpdateUserReplySchema>

/** `GET /api/session/storage-key`: the browser copy's encryption key (base64). */
export const StorageKeyReplySchema = v.object({ key: v.pipe(v.string(), v.base64('must be base64')) })
export type StorageKeyReply = v.InferOutput<typeof StorageKeyReplySchema>

/** `{ ok: true }` (logout, own password). */
export const OkReplySchema = v.object({ ok: v.literal(true) })
export type OkReply = v.InferOutput<typeof OkReplySchema>

/** Every refusal of the device node and the relay: a stable error `name` and a message in plain words. */
export const ErrorReplySchema = v.object({ error: v.object({ name: v.string(), message: v.string() }) })
export type ErrorReply = v.InferOutput<typeof ErrorReplySchema>
