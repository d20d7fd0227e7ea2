import { join } from 'node:path'
import { CreateUserRequestSchema, parseWith, type Role } from '@clinic-mesh/contracts'
import type { LoginPolicy } from '@clinic-mesh/security'
import { ADMIN_PASSWORD_FILE, FIRST_ADMIN, initialAdminPassword, unlockAdminKey } from './admin-key.js'
import { userIdOf, type DeviceAuth } from './auth.js'
import { log } from './log.js'

export { ADMIN_PASSWORD_FILE }

/** Roles of the demo users (`CLINIC_MESH_DEMO_USERS=1`): user name = role, password = `<role>-demo`. */
export const DEMO_ROLES: readonly Role[] = [
  'registration',
  'nurse',
  'clinician',
  'pharmacist',
  'supervisor',
  'reviewer',
]

/**
 * The clinic's first admin, created by the device that founded the clinic. Its password comes from
 * `CLINIC_MESH_ADMIN_PASSWORD`, else a random one is written to `DATA/initial-admin-password` (mode 0600) for the
 * person setting the clinic up, who changes it — the log names the file, never the password. The clinic admin key
 * that endorses these first users was wrapped under that same password when the clinic was created
 * (`DATA/admin-key.json`, device-config.ts): it is unwrapped here for the bootstrap only, and wiped after.
 * `clinicAdminKey` is the fallback of an older founder whose clinic file still holds the key.
 */
export async function bootstrapUsers(
  auth: DeviceAuth,
  dataDir: string,
  clinicAdminKey: () => Promise<Uint8Array>,
): Promise<void> {
  const missing = [
    ...(auth.hasUser(userIdOf('admin')) ? [] : ['admin' as Role]),
    ...(process.env.CLINIC_MESH_DEMO_USERS === '1'
      ? DEMO_ROLES.filter((r) => !auth.hasUser(userIdOf(r)))
      : []),
  ]
  if (missing.length === 0) return
  const password = await initialAdminPassword(dataDir, missing.includes('admin'))
  let key: Uint8Array | undefined
  const adminKey = async (): Promise<Uint8Array> =>
    (key ??=
      (password ? await unlockAdminKey(dataDir, FIRST_ADMIN, password) : undefined) ??
      (await clinicAdminKey()))
  try {
    for (const role of missing) {
      if (role === 'admin') {
        if (process.env.CLINIC_MESH_ADMIN_PASSWORD)
          log('admin-created', { user: 'admin', passwordFrom: 'CLINIC_MESH_ADMIN_PASSWORD' })
        else log('admin-created', { user: 'admin', passwordFile: join(dataDir, ADMIN_PASSWORD_FILE) })
        await auth.createUser(
          undefined,
          parseWith(CreateUserRequestSchema, { name: 'admin', role: 'admin', password }, 'the first admin'),
          await adminKey(),
        )
      } else
        await auth.createUser(
          undefined,
          parseWith(CreateUserRequestSchema, { name: role, role, password: `${role}-demo` }, 'a demo user'),
          await adminKey(),
        )
    }
  } finally {
    key?.fill(0)
  }
}

/** `CLINIC_MESH_LOGIN_DELAY_MS`: the back-off after a failed login (default 1 s, doubling; drills and tests shorten it). */
export function loginPolicyFromEnv(): { loginPolicy?: Partial<LoginPolicy> } {
  const v = Number(process.env.CLINIC_MESH_LOGIN_DELAY_MS)
  return Number.isFinite(v) && v >= 0 && process.env.CLINIC_MESH_LOGIN_DELAY_MS !== undefined
    ? { loginPolicy: { baseDelayMs: v } }
    : {}
}
