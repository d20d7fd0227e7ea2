import type { Role } from '@clinic-mesh/contracts'
import { adminApi, type AdminUser } from './admin-api.js'

/**
 * The clinic's users as the admin screen shows them: loaded from the device node (`GET /api/users`), changed through
 * it (the node endorses every record with the admin's signing key). Methods throw ApiError; `explainAdminError`
 * words it (a failed refresh is kept in `error`).
 */
export class AdminUsers {
  #users = $state<AdminUser[]>([])
  #unendorsed = $state<string[]>([])
  #loaded = $state(false)
  #error = $state<unknown>()

  get users(): AdminUser[] {
    return this.#users
  }
  get unendorsed(): string[] {
    return this.#unendorsed
  }
  get loaded(): boolean {
    return this.#loaded
  }
  /** Why the last refresh failed (an ApiError), undefined after a good one. */
  get error(): unknown {
    return this.#error
  }

  async refresh(): Promise<void> {
    try {
      const r = await adminApi.users()
      const users = [...r.users].sort((a, b) => a.name.localeCompare(b.name))
      // replaced only when something changed: a role the admin is picking in a row is not reset by a poll
      if (JSON.stringify(users) !== JSON.stringify(this.#users)) this.#users = users
      if (JSON.stringify(r.unendorsed) !== JSON.stringify(this.#unendorsed)) this.#unendorsed = r.unendorsed
      this.#loaded = true
      this.#error = undefined
    } catch (err) {
      this.#error = err
    }
  }

  async create(input: { name: string; role: Role; password: string }): Promise<{ id: string; name: string }> {
    const r = await adminApi.createUser(input)
    await this.refresh()
    return r.user
  }

  async update(id: string, change: { role?: Role; status?: AdminUser['status'] }): Promise<AdminUser> {
    const r = await adminApi.updateUser(id, change)
    this.#users = this.#users.map((u) => (u.id === id ? r.user : u))
    return r.user
  }
}
