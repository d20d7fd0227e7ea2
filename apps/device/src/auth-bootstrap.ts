import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Role } from '@clinic-mesh/contracts'
import type { LoginPolicy } from '@clinic-mesh/security'
import { userIdOf, type DeviceAuth } from './auth.js'
import { log } from './log.js'

/** Where the founder writes a generated first admin password (the person setting up the clinic deletes it). */
export const ADMIN_PASSWORD_FILE = 'initial-admin-password'

/** Roles of the demo users (`CLINIC_MESH_DEMO_USERS=1`): user name = role, password = `<role>-demo`. */
export const DEMO_ROLES: readonly Role[] = ['registration', 'nurse', 'clinician', 'pharmacist', 'supervisor', 'reviewer']

/**
 * The clinic's first admin, created by the device that founded the clinic. Its password comes from
 * `CLINIC_MESH_ADMIN_PASSWORD`, else a random one is written to `DATA/initial-admin-password` (mode 0600) for the
 * person setting the clinic up, who changes it — the log names the file, never the password. The founder holds the
 * clinic admin key (the clinic file it created), which endorses these first users.
 */
export async function bootstrapUsers(auth: DeviceAuth, dataDir: string, clinicAdminKey: () => Promise<Uint8Array>): Promise<void> {
  if (!auth.hasUser(userIdOf('admin'))) {
    let password = process.env.CLINIC_MESH_ADMIN_PASSWORD
    if (!password) {
      password = randomBytes(12).toString('base64url')
      const file = join(dataDir, ADMIN_PASSWORD_FILE)
      await writeFile(file, `${password}\n`, { mode: 0o600 })
      log('admin-created', { user: 'admin', passwordFile: file })
    } else log('admin-created', { user: 'admin', passwordFrom: 'CLINIC_MESH_ADMIN_PASSWORD' })
    await auth.createUser(undefined, { name: 'admin', role: 'admin', password }, await clinicAdminKey())
  }
  if (process.env.CLINIC_MESH_DEMO_USERS === '1') {
    for (const role of DEMO_ROLES) {
      if (!auth.hasUser(userIdOf(role))) await auth.createUser(undefined, { name: role, role, password: `${role}-demo` }, await clinicAdminKey())
    }
  }
}

/** `CLINIC_MESH_LOGIN_DELAY_MS`: the back-off after a failed login (default 1 s, doubling; drills and tests shorten it). */
export function loginPolicyFromEnv(): { loginPolicy?: Partial<LoginPolicy> } {
  const v = Number(process.env.CLINIC_MESH_LOGIN_DELAY_MS)
  return Number.isFinite(v) && v >= 0 && process.env.CLINIC_MESH_LOGIN_DELAY_MS !== undefined ? { loginPolicy: { baseDelayMs: v } } : {}
}
