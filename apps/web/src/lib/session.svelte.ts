import { ROLES, isRole, type Role, type UserId, type DeviceId } from '@clinic-mesh/contracts'
import type { Actor } from '@clinic-mesh/records'

export interface User {
  id: UserId
  name: string
  role: Role
}

const KEY = 'clinic-mesh.user'
const DEVICE_KEY = 'clinic-mesh.browser'

function slug(name: string): string {
  return name.trim().toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'user'
}

function load(): User | undefined {
  try {
    const raw = localStorage.getItem(KEY)
    if (!raw) return undefined
    const v = JSON.parse(raw) as Partial<User>
    if (typeof v.name === 'string' && typeof v.id === 'string' && isRole(v.role)) return v as User
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
 * Who is using the tablet. Until the security package lands this is a name and a role kept in
 * localStorage (no password): a shift change is "switch user".
 */
export class Session {
  #user = $state<User | undefined>(load())
  readonly device = browserDevice()
  readonly roles = ROLES

  get user(): User | undefined {
    return this.#user
  }

  signIn(name: string, role: Role): void {
    const user: User = { id: `usr_${slug(name)}` as UserId, name: name.trim(), role }
    localStorage.setItem(KEY, JSON.stringify(user))
    this.#user = user
  }

  signOut(): void {
    localStorage.removeItem(KEY)
    this.#user = undefined
  }

  /** The actor recorded on writes; throws when nobody is signed in. */
  actor(): Actor {
    if (!this.#user) throw new Error('nobody is signed in')
    return { user: this.#user.id, device: this.device }
  }
}
