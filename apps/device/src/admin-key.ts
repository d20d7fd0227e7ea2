import { existsSync, readFileSync } from 'node:fs'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { UserId } from '@clinic-mesh/contracts'
import {
  InvalidPasswordError,
  type PasswordWrapped,
  type ScryptParams,
  unwrapUnderPassword,
  wrapUnderPassword,
} from '@clinic-mesh/security'
import { writeJsonAtomic } from './clinic-file.js'
import { log } from './log.js'

/**
 * `DIR/admin-key.json` on the device that founded the clinic: the clinic admin Ed25519 secret key, wrapped under a
 * key derived from the clinic admin user's password (scrypt + HKDF, HKDF info `clinic-mesh/clinic-admin-key-wrap/v1`,
 * AAD naming the user and the admin public key). Never in clear on disk: unlocked at that admin's sign-in and held in
 * the node's memory for that session only.
 */
export const ADMIN_KEY_FILE = 'admin-key.json'
/** Where the founder writes a generated first admin password (the person setting up the clinic deletes it). */
export const ADMIN_PASSWORD_FILE = 'initial-admin-password'
/** The first admin user of a clinic (created by the founder). */
export const FIRST_ADMIN = 'usr_admin' as UserId
const CONTEXT = 'clinic-admin-key-wrap'

interface AdminKeyFile {
  format: 'clinic-mesh/admin-key/1'
  /** hex Ed25519 public key of the clinic admin key */
  publicKey: string
  /** the key wrapped under each admin user's password who may unlock it on this device */
  wraps: { [userId: string]: PasswordWrapped }
}

const aad = (user: string, publicKey: string): Uint8Array =>
  new TextEncoder().encode(`clinic-mesh/clinic-admin-key/v1:${user}:${publicKey}`)

async function readAdminKeyFile(dataDir: string): Promise<AdminKeyFile | undefined> {
  const file = join(dataDir, ADMIN_KEY_FILE)
  if (!existsSync(file)) return undefined
  const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<AdminKeyFile>
  if (
    parsed.format !== 'clinic-mesh/admin-key/1' ||
    typeof parsed.publicKey !== 'string' ||
    typeof parsed.wraps !== 'object' ||
    parsed.wraps === null
  )
    return undefined
  return parsed as AdminKeyFile
}

/** This device holds the clinic admin key wrapped for `user`: their session without it must sign in again. */
export function holdsAdminKeyFor(dataDir: string, user: string): boolean {
  try {
    const f = JSON.parse(readFileSync(join(dataDir, ADMIN_KEY_FILE), 'utf8')) as Partial<AdminKeyFile>
    return typeof f.wraps === 'object' && f.wraps !== null && Object.hasOwn(f.wraps, user)
  } catch {
    return false
  }
}

/** Writes the admin key wrapped under `user`'s password (replacing that user's wrap). */
export async function wrapAdminKey(
  dataDir: string,
  user: string,
  password: string,
  secretKey: Uint8Array,
  publicKey: string,
  scrypt?: ScryptParams,
): Promise<void> {
  const existing = await readAdminKeyFile(dataDir)
  const wrapped = await wrapUnderPassword(password, secretKey, CONTEXT, aad(user, publicKey), scrypt)
  const next: AdminKeyFile = {
    format: 'clinic-mesh/admin-key/1',
    publicKey,
    wraps: { ...(existing?.publicKey === publicKey ? existing.wraps : {}), [user]: wrapped },
  }
  await writeJsonAtomic(join(dataDir, ADMIN_KEY_FILE), next)
}

/**
 * The clinic admin secret key, unwrapped with `user`'s password; undefined when this device holds no wrap for that
 * user (or the password no longer opens it: e.g. it was changed on another tablet — logged).
 */
export async function unlockAdminKey(
  dataDir: string,
  user: string,
  password: string,
): Promise<Uint8Array | undefined> {
  const f = await readAdminKeyFile(dataDir).catch(() => undefined)
  const w = f && Object.hasOwn(f.wraps, user) ? f.wraps[user] : undefined
  if (!f || !w) return undefined
  try {
    return await unwrapUnderPassword(password, w, CONTEXT, aad(user, f.publicKey))
  } catch (err) {
    if (!(err instanceof InvalidPasswordError)) throw err
    log('admin-key-wrap-stale', { user })
    return undefined
  }
}

/** After `user` changed their password: the admin key re-wrapped under the new one (nothing when they hold no wrap). */
export async function rewrapAdminKey(
  dataDir: string,
  user: string,
  oldPassword: string,
  newPassword: string,
  scrypt?: ScryptParams,
): Promise<void> {
  const key = await unlockAdminKey(dataDir, user, oldPassword)
  if (!key) return
  try {
    const f = await readAdminKeyFile(dataDir)
    if (f) await wrapAdminKey(dataDir, user, newPassword, key, f.publicKey, scrypt)
    // the generated first password is no longer the admin's: it opens nothing now, remove it
    if (user === FIRST_ADMIN) await rm(join(dataDir, ADMIN_PASSWORD_FILE), { force: true })
  } finally {
    key.fill(0)
  }
}

/**
 * The founder's first admin password: `CLINIC_MESH_ADMIN_PASSWORD`, else the one generated earlier into
 * `DATA/initial-admin-password`, else a new random one written there (mode 0600; the log names the file only).
 * `create: false` returns undefined instead of generating one.
 */
export async function initialAdminPassword(dataDir: string, create = true): Promise<string | undefined> {
  const env = process.env.CLINIC_MESH_ADMIN_PASSWORD
  if (env) return env
  const file = join(dataDir, ADMIN_PASSWORD_FILE)
  if (existsSync(file)) return (await readFile(file, 'utf8')).replace(/\r?\n$/, '')
  if (!create) return undefined
  const password = randomBytes(12).toString('base64url')
  await writeFile(file, `${password}\n`, { mode: 0o600 })
  return password
}
