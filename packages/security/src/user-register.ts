import type { Role, UserId } from '@clinic-mesh/contracts'
import { isRole } from '@clinic-mesh/contracts'
import { ed25519 } from '@noble/curves/ed25519.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { gcmOpen, gcmSeal, importAesKey } from './aes-gcm.js'
import { bytesToHex, constantTimeEqual, hexToBytes, randomBytes, utf8ToBytes } from './bytes.js'
import { DecryptionError, InvalidPasswordError } from './errors.js'
import { PASSWORD_SCRYPT, type ScryptParams, deriveKey } from './scrypt-params.js'

/** Stored password verifier. `hash` = HKDF(scrypt(password, salt), "password-verifier"), hex. */
export interface PasswordHash {
  readonly alg: 'scrypt'
  readonly N: number
  readonly r: number
  readonly p: number
  readonly salt: string
  readonly hash: string
}

/** The user's Ed25519 secret key sealed with AES-256-GCM under HKDF(scrypt(password, salt), "signing-key-wrap"). */
export interface WrappedKey {
  readonly alg: 'AES-GCM'
  readonly data: string
}

export type UserStatus = 'active' | 'disabled'

/** One user as stored in the synced register document (plain JSON: strings and numbers only). */
export interface UserRecord {
  readonly name: string
  readonly role: Role
  readonly passwordHash: PasswordHash
  readonly publicKey: string
  readonly wrappedSigningKey: WrappedKey
  readonly status: UserStatus
  /**
   * Version of who the user is (name, role, status, public key), covered by the admin's endorsement: 1 when
   * created, previous + 1 for each change an admin makes. A device or the relay never goes back to a lower one
   * (user-endorsement.ts `reconcileUsers`). Absent only in records of the first format (counted as 0).
   */
  readonly version?: number
  /**
   * hex Ed25519 signature by the user's own key over `credentialBytes`: only the user (who can unwrap the key)
   * sets their password; an admin's endorsement vouches for who they are (user-endorsement.ts).
   */
  readonly credentialSignature?: string
  /** Version of the password verifier and wrapped key, covered by `credentialSignature`: 1, then + 1 per change. */
  readonly credentialVersion?: number
}

const CREDENTIAL_CONTEXT_V1 = 'clinic-mesh/user-credentials/v1'
const CREDENTIAL_CONTEXT = 'clinic-mesh/user-credentials/v2'

/**
 * The bytes the user's key signs: their password verifier and wrapped key, bound to their id, public key and the
 * credential version (so an older password record can be told from a newer one). A record without
 * `credentialVersion` is of the first format (v1 context, version 0).
 */
export function credentialBytes(
  userId: UserId,
  r: Pick<UserRecord, 'publicKey' | 'passwordHash' | 'wrappedSigningKey' | 'credentialVersion'>,
): Uint8Array {
  const ph = r.passwordHash
  const wk = r.wrappedSigningKey
  const fields = [userId, r.publicKey, [ph.alg, ph.N, ph.r, ph.p, ph.salt, ph.hash], [wk.alg, wk.data]]
  if (r.credentialVersion === undefined)
    return utf8ToBytes(JSON.stringify([CREDENTIAL_CONTEXT_V1, ...fields]))
  return utf8ToBytes(JSON.stringify([CREDENTIAL_CONTEXT, ...fields, r.credentialVersion]))
}

/** A version field as records carry it: absent (first format, 0) or an integer ≥ 1. */
export function isRecordVersion(v: unknown): v is number | undefined {
  return v === undefined || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 1)
}

/** The register of users, meant to live in one Automerge document synced to every device of the clinic. */
// a type alias (not an interface) so it satisfies Automerge's Record<string, unknown> document constraint
export type UserRegister = {
  users: { [userId: string]: UserRecord }
}

/** The clinic's user register document as synced (the clinic directory's `users`): device nodes write it, the relay reads it. */
export type UserRegisterDoc = UserRegister & { kind: 'user-register/1' }

export const MIN_PASSWORD_LENGTH = 8

/** `usr_<slug of the name>`: stable, so the same person created on two devices offline is one user id. */
export function userIdOf(name: string): UserId {
  const slug = name
    .trim()
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
  if (!slug) throw new RangeError('a user name needs at least one letter or digit')
  return `usr_${slug}` as UserId
}

/** The id a login names: an existing id as is, else the id of that name. */
export function resolveUserId(register: UserRegister, user: string): UserId {
  return (user.startsWith('usr_') && Object.hasOwn(register.users, user) ? user : userIdOf(user)) as UserId
}
const VERIFIER_INFO = utf8ToBytes('clinic-mesh/password-verifier/v1')
const WRAP_INFO = utf8ToBytes('clinic-mesh/signing-key-wrap/v1')

/**
 * One scrypt run per login gives two independent 32-byte keys through HKDF: the verifier (stored) and the key that
 * wraps the signing key (never stored). Knowing the verifier does not give the wrapping key.
 */
async function derive(
  password: string,
  salt: Uint8Array,
  params: ScryptParams,
): Promise<{ verifier: Uint8Array; wrapKey: Uint8Array }> {
  const master = await deriveKey(password, salt, params)
  const out = {
    verifier: hkdf(sha256, master, salt, VERIFIER_INFO, 32),
    wrapKey: hkdf(sha256, master, salt, WRAP_INFO, 32),
  }
  master.fill(0)
  return out
}

const wrapAad = (userId: UserId, publicKey: string): Uint8Array =>
  utf8ToBytes(`clinic-mesh/user-key/v1:${userId}:${publicKey}`)

async function seal(
  userId: UserId,
  password: string,
  secretKey: Uint8Array,
  params: ScryptParams,
  credentialVersion: number,
): Promise<
  Pick<
    UserRecord,
    'passwordHash' | 'publicKey' | 'wrappedSigningKey' | 'credentialSignature' | 'credentialVersion'
  >
> {
  if (password.length < MIN_PASSWORD_LENGTH)
    throw new InvalidPasswordError(`passwords have at least ${MIN_PASSWORD_LENGTH} characters`)
  const salt = randomBytes(16)
  const { verifier, wrapKey } = await derive(password, salt, params)
  const publicKey = bytesToHex(ed25519.getPublicKey(secretKey))
  const data = await gcmSeal(await importAesKey(wrapKey), secretKey, wrapAad(userId, publicKey))
  wrapKey.fill(0)
  const credentials = {
    passwordHash: {
      alg: 'scrypt',
      N: params.N,
      r: params.r,
      p: params.p,
      salt: bytesToHex(salt),
      hash: bytesToHex(verifier),
    },
    publicKey,
    wrappedSigningKey: { alg: 'AES-GCM', data: bytesToHex(data) },
    credentialVersion,
  } as const
  return {
    ...credentials,
    credentialSignature: bytesToHex(ed25519.sign(credentialBytes(userId, credentials), secretKey)),
  }
}

export interface CreateUserInput {
  readonly userId: UserId
  readonly name: string
  readonly role: Role
  readonly password: string
  /** Defaults to `PASSWORD_SCRYPT`; tests pass a small N. */
  readonly scrypt?: ScryptParams
}

/**
 * A new user record (version 1, credential version 1) with a fresh Ed25519 signing key wrapped under the password.
 * Endorse it and write it into `register.users[userId]`.
 */
export async function createUser(input: CreateUserInput): Promise<UserRecord> {
  if (!isRole(input.role)) throw new RangeError(`unknown role ${String(input.role)}`)
  const secretKey = ed25519.utils.randomSecretKey()
  const sealed = await seal(input.userId, input.password, secretKey, input.scrypt ?? PASSWORD_SCRYPT, 1)
  secretKey.fill(0)
  return { name: input.name, role: input.role, status: 'active', version: 1, ...sealed }
}

/** Checks the password against the stored verifier (constant-time compare). Returns the wrapping key on success. */
async function check(user: UserRecord, password: string): Promise<Uint8Array | undefined> {
  const ph = user.passwordHash
  if (ph.alg !== 'scrypt') return undefined
  const { verifier, wrapKey } = await derive(password, hexToBytes(ph.salt), ph)
  if (constantTimeEqual(verifier, hexToBytes(ph.hash))) return wrapKey
  wrapKey.fill(0)
  return undefined
}

export async function verifyPassword(user: UserRecord, password: string): Promise<boolean> {
  const key = await check(user, password)
  key?.fill(0)
  return key !== undefined
}

/** Verifies the password and unwraps the user's Ed25519 secret key; `InvalidPasswordError` on a wrong password. */
export async function unlockSigningKey(
  userId: UserId,
  user: UserRecord,
  password: string,
): Promise<Uint8Array> {
  const wrapKey = await check(user, password)
  if (!wrapKey) throw new InvalidPasswordError()
  try {
    const secret = await gcmOpen(
      await importAesKey(wrapKey),
      hexToBytes(user.wrappedSigningKey.data),
      wrapAad(userId, user.publicKey),
      `signing key of ${userId}`,
    )
    if (bytesToHex(ed25519.getPublicKey(secret)) !== user.publicKey)
      throw new DecryptionError(`signing key of ${userId} does not match its public key`)
    return secret
  } finally {
    wrapKey.fill(0)
  }
}

/** The same user with a new password: same signing key (same public key), new salt, new wrap. */
export async function changePassword(
  userId: UserId,
  user: UserRecord,
  oldPassword: string,
  newPassword: string,
  scrypt?: ScryptParams,
): Promise<UserRecord> {
  const secretKey = await unlockSigningKey(userId, user, oldPassword)
  try {
    return await rewrapUser(userId, user, secretKey, newPassword, scrypt)
  } finally {
    secretKey.fill(0)
  }
}

/**
 * As `changePassword`, with the signing key already unlocked (e.g. by the sign-in that checked the old password).
 * The new credentials carry the next credential version; the admin's endorsement (and its version) stays.
 */
export async function rewrapUser(
  userId: UserId,
  user: UserRecord,
  secretKey: Uint8Array,
  newPassword: string,
  scrypt?: ScryptParams,
): Promise<UserRecord> {
  const params = scrypt ?? { N: user.passwordHash.N, r: user.passwordHash.r, p: user.passwordHash.p }
  return {
    ...user,
    ...(await seal(userId, newPassword, secretKey, params, (user.credentialVersion ?? 0) + 1)),
  }
}
