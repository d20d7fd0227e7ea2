import type { UserId } from '@clinic-mesh/contracts'
import { ed25519 } from '@noble/curves/ed25519.js'
import { bytesToHex, hexToBytes, utf8ToBytes } from './bytes.js'
import { credentialBytes, type UserRecord, type UserRegister } from './user-register.js'

/**
 * Who vouched for a user: an Ed25519 signature over who they are (id, name, role, status, public key) by a clinic
 * admin key, or by the signing key of a user who is a valid, active admin. Their password verifier and wrapped key
 * carry the user's own signature (`credentialSignature`): an admin vouches for the person, only the person sets
 * their password. A member device can write the register
 * document (Automerge authorises no write), so devices and the relay only believe records whose chain of
 * endorsements ends in one of the clinic's admin public keys.
 *
 * A record is immutable once written: a change (role, status, password) replaces the whole object at
 * `users[id]`, so concurrent writes resolve to one of them, never a mix whose signature breaks.
 */
export interface Endorsement {
  /** hex Ed25519 public key of the endorser */
  readonly by: string
  /** hex signature over `endorsementBytes(userId, record)` */
  readonly signature: string
}

export type EndorsedUserRecord = UserRecord & { readonly endorsement?: Endorsement }

const CONTEXT = 'clinic-mesh/user-endorsement/v1'

/** The endorsed bytes: JSON of a fixed field order, so both sides agree byte for byte. */
export function endorsementBytes(userId: UserId, r: Pick<UserRecord, 'name' | 'role' | 'status' | 'publicKey'>): Uint8Array {
  return utf8ToBytes(JSON.stringify([CONTEXT, userId, r.name, r.role, r.status, r.publicKey]))
}

/** The record with an endorsement by `endorserSecret` (a clinic admin key, or an admin user's unlocked signing key). */
export function endorseUser(userId: UserId, record: UserRecord, endorserSecret: Uint8Array): EndorsedUserRecord {
  const { endorsement: _old, ...plain } = record as EndorsedUserRecord
  const signature = bytesToHex(ed25519.sign(endorsementBytes(userId, plain), endorserSecret))
  return { ...plain, endorsement: { by: bytesToHex(ed25519.getPublicKey(endorserSecret)), signature } }
}

/** The endorsement verifies, and the credentials carry the user's own signature. */
function signatureHolds(userId: UserId, r: EndorsedUserRecord): boolean {
  const e = r.endorsement
  if (!e || typeof e.by !== 'string' || typeof e.signature !== 'string' || typeof r.credentialSignature !== 'string') return false
  try {
    return (
      ed25519.verify(hexToBytes(e.signature), endorsementBytes(userId, r), hexToBytes(e.by)) &&
      ed25519.verify(hexToBytes(r.credentialSignature), credentialBytes(userId, r), hexToBytes(r.publicKey))
    )
  } catch {
    return false
  }
}

/**
 * The users of `register` whose endorsement chain ends in `rootKeys` (the clinic's admin public keys, hex):
 * endorsed by a root key, or by an active admin user who is valid in turn (no self-endorsement, no cycles).
 * Everything else is left out: unendorsed, badly signed, or vouched for by someone who is not a valid admin.
 */
export function endorsedUsers(register: UserRegister, rootKeys: readonly string[]): UserRegister {
  const roots = new Set(rootKeys.map((k) => k.toLowerCase()))
  const users = register.users as Record<string, EndorsedUserRecord>
  // (a list: a forged record may copy a real admin's public key; it must not hide the real one)
  const adminsByKey = new Map<string, string[]>()
  for (const [id, u] of Object.entries(users)) {
    if (u?.role === 'admin' && u.status === 'active' && typeof u.publicKey === 'string') adminsByKey.set(u.publicKey.toLowerCase(), [...(adminsByKey.get(u.publicKey.toLowerCase()) ?? []), id])
  }
  const verdict = new Map<string, boolean>()
  const valid = (id: string, path: Set<string>): boolean => {
    const known = verdict.get(id)
    if (known !== undefined) return known
    const u = users[id]
    if (!u || path.has(id) || !signatureHolds(id as UserId, u)) return false
    const by = u.endorsement!.by.toLowerCase()
    const ok = roots.has(by) || (adminsByKey.get(by) ?? []).some((e) => e !== id && valid(e, new Set([...path, id])))
    verdict.set(id, ok)
    return ok
  }
  const out: UserRegister = { users: {} }
  for (const id of Object.keys(users)) if (valid(id, new Set())) out.users[id] = users[id]!
  return out
}
