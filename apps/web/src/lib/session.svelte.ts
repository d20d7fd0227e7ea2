import {
  LoginReplySchema,
  OkReplySchema,
  ROLES,
  SessionReplySchema,
  SessionUserSchema,
  type SessionUser,
  type DeviceId,
} from '@clinic-mesh/contracts'
import * as v from 'valibot'
import type { Actor } from '@clinic-mesh/records'
import { POLICY, decideWrite, type Action } from '@clinic-mesh/security/policy'
import { ApiError, api } from './api.js'

/** The signed-in user as the device node names them (@clinic-mesh/contracts `SessionUser`). */
export type User = SessionUser

const KEY = 'clinic-mesh.user'
const DEVICE_KEY = 'clinic-mesh.browser'

function load(): User | undefined {
  try {
    const raw = localStorage.getItem(KEY)
    if (!raw) return undefined
    const kept = v.safeParse(SessionUserSchema, JSON.parse(raw))
    if (kept.success) return kept.output
  } catch {
    /* a damaged entry means: pick the user again */
  }
  return undefined
}

/** This browser's id (one per tablet browser profile), recorded as the `device` of every write. */
function browserDevice(): DeviceId {
  let id = localStorage.getItem(DEVICE_KEY)
  if (!id) {
    id = `dev_web_${Math.random().toString(36).slice(2, 10)}`
    localStorage.setItem(DEVICE_KEY, id)
  }
  return id as DeviceId
}

/**
 * Who is using the tablet: a user of the clinic's register, logged in against this device node (offline: the node
 * checks the password against the synced register). The session cookie is HttpOnly; this keeps only the name and
 * role to draw the screen. A shift change is "sign out" then the next person signs in.
 */
export class Session {
  #user = $state<User | undefined>(load())
  readonly device = browserDevice()
  readonly roles = ROLES

  /** Whether the signed-in user's role may do this (the device node's policy table; the node refuses it anyway). */
  may(action: Action): boolean {
    const role = this.#user?.role
    return role !== undefined && POLICY[action].roles.includes(role)
  }

  /** Whether this user may change a chart field at `path` (a review marker's): the node's field policy. */
  mayWrite(path: readonly string[]): boolean {
    const role = this.#user?.role
    return role !== undefined && decideWrite(role, 'chart-bucket', { path, overwrite: true }, '').allowed
  }

  constructor() {
    // the node is the judge: an ended or expired session (401) signs out; an unreachable node keeps the user working
    if (this.#user) {
      api('GET', '/api/session', SessionReplySchema).then(
        (r) => this.#remember(r.user),
        (err: unknown) => {
          if (err instanceof ApiError && err.status === 401) this.#forget()
        },
      )
    }
  }

  get user(): User | undefined {
    return this.#user
  }

  /** Logs in on the device node; throws ApiError (InvalidPasswordError, AccountLockedError, ...). */
  async signIn(name: string, password: string): Promise<User> {
    const r = await api('POST', '/api/login', LoginReplySchema, { user: name.trim(), password }, 10_000)
    this.#remember(r.user)
    return r.user
  }

  async signOut(): Promise<void> {
    this.#forget()
    await api('POST', '/api/logout', OkReplySchema).catch(() => undefined)
  }

  #remember(user: User): void {
    localStorage.setItem(KEY, JSON.stringify(user))
    this.#user = user
  }

  #forget(): void {
    localStorage.removeItem(KEY)
    this.#user = undefined
  }

  /** The actor recorded on writes; throws when nobody is signed in. */
  actor(): Actor {
    if (!this.#user) throw new Error('nobody is signed in')
    return { user: this.#user.id, device: this.device }
  }
}
