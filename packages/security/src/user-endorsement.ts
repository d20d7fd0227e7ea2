import type { UserId } from '@clinic-mesh/contracts'
import { ed25519 } from '@noble/curves/ed25519.js'
import { bytesToHex, hexToBytes, utf8ToBytes } from './bytes.js'
import {
  credentialBytes,
  isRecordVersion,
  type PasswordHash,
  type UserRecord,
  type UserRegister,
  type WrappedKey,
} from './user-register.js'

/**
 * Who vouched for a user: an Ed25519 signature over who they are (id, name, role, status, public key, version) by a
 * clinic admin key, or by the signing key of a user who is a valid, active admin. Their password verifier and
 * wrapped key carry the user's own signature (`credentialSignature`, with its own version): an admin vouches for
 * the person, only the person sets their password. A member device can write the register document (Automerge
 * authorises no write), so devices and the relay only believe records whose chain of endorsements ends in one of
 * the clinic's admin public keys — and, since an old record stays validly signed, never a version lower than the
 * newest they verified (`reconcileUsers`).
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

const CONTEXT_V1 = 'clinic-mesh/user-endorsement/v1'
const CONTEXT = 'clinic-mesh/user-endorsement/v2'

/**
 * The endorsed bytes: JSON of a fixed field order, so both sides agree byte for byte. A record without `version`
 * is of the first format (v1 context, counted as version 0: any versioned record outranks it).
 */
export function endorsementBytes(
  userId: UserId,
  r: Pick<UserRecord, 'name' | 'role' | 'status' | 'publicKey' | 'version'>,
): Uint8Array {
  if (r.version === undefined)
    return utf8ToBytes(JSON.stringify([CONTEXT_V1, userId, r.name, r.role, r.status, r.publicKey]))
  return utf8ToBytes(JSON.stringify([CONTEXT, userId, r.name, r.role, r.status, r.publicKey, r.version]))
}

/**
 * The record with an endorsement by `endorserSecret` (a clinic admin key, or an admin user's unlocked signing key),
 * at the record's `version` (1 when it has none). A change by an admin endorses `{ ...current, version: current + 1 }`
 * (`nextVersion`).
 */
export function endorseUser(
  userId: UserId,
  record: UserRecord,
  endorserSecret: Uint8Array,
): EndorsedUserRecord {
  const { endorsement: _old, ...rest } = record as EndorsedUserRecord
  const plain = { ...rest, version: rest.version ?? 1 }
  const signature = bytesToHex(ed25519.sign(endorsementBytes(userId, plain), endorserSecret))
  return { ...plain, endorsement: { by: bytesToHex(ed25519.getPublicKey(endorserSecret)), signature } }
}

/** The version an admin's change of `current` carries. */
export const nextVersion = (current: Pick<UserRecord, 'version'>): number => (current.version ?? 0) + 1

/** Who the user is, as endorsed: the half of a record an admin signs. */
export interface EndorsedPart {
  readonly name: string
  readonly role: UserRecord['role']
  readonly status: UserRecord['status']
  readonly publicKey: string
  readonly version?: number
  readonly endorsement: Endorsement
}

/**
 * The half of a record the user signs. Kept locally without `passwordHash`/`wrappedSigningKey` where the holder must
 * not store verifiers in the clear (a device's file): then it still marks the newest credentials seen, so an older
 * one is refused, but cannot stand in for them.
 */
export interface CredentialPart {
  readonly publicKey: string
  readonly credentialVersion?: number
  readonly credentialSignature: string
  readonly passwordHash?: PasswordHash
  readonly wrappedSigningKey?: WrappedKey
}

/** The newest verified record of one user: what a device or the relay keeps so it never goes back to an older one. */
export interface HeldUser {
  readonly endorsed: EndorsedPart
  readonly credential?: CredentialPart
}

/** Per user id, the newest verified record seen (a device's local file, the relay's per-clinic state). */
export type UserHighWater = { [userId: string]: HeldUser }

export interface ReconciledUsers {
  /** The users as believed: newest verified endorsement + newest verified credentials of each valid user. */
  readonly users: UserRegister
  /** The high-water state to keep from now on. */
  readonly held: UserHighWater
  /** `held` differs from the state passed in (persist it). */
  readonly changed: boolean
  /** Ids whose document record is older than (or missing beside) what is believed: the newer one may be written back. */
  readonly stale: string[]
  /** Ids for which two different validly endorsed records of the same version were seen (concurrent admin edits). */
  readonly conflicts: string[]
}

const str = (v: unknown): v is string => typeof v === 'string'

function endorsedPartOf(r: unknown): EndorsedPart | undefined {
  const u = r as Partial<EndorsedUserRecord> | undefined
  if (
    !u ||
    typeof u !== 'object' ||
    !u.endorsement ||
    !str(u.endorsement.by) ||
    !str(u.endorsement.signature)
  )
    return undefined
  if (!str(u.name) || !str(u.role) || !str(u.status) || !str(u.publicKey) || !isRecordVersion(u.version))
    return undefined
  return {
    name: u.name,
    role: u.role,
    status: u.status,
    publicKey: u.publicKey,
    ...(u.version !== undefined ? { version: u.version } : {}),
    endorsement: { by: u.endorsement.by, signature: u.endorsement.signature },
  }
}

function credentialPartOf(r: unknown): CredentialPart | undefined {
  const u = r as Partial<UserRecord> | undefined
  if (
    !u ||
    typeof u !== 'object' ||
    !str(u.publicKey) ||
    !str(u.credentialSignature) ||
    !isRecordVersion(u.credentialVersion)
  )
    return undefined
  if (
    !u.passwordHash ||
    typeof u.passwordHash !== 'object' ||
    !u.wrappedSigningKey ||
    typeof u.wrappedSigningKey !== 'object'
  )
    return undefined
  const ph = u.passwordHash
  const wk = u.wrappedSigningKey
  return {
    publicKey: u.publicKey,
    ...(u.credentialVersion !== undefined ? { credentialVersion: u.credentialVersion } : {}),
    credentialSignature: u.credentialSignature,
    passwordHash: { alg: ph.alg, N: ph.N, r: ph.r, p: ph.p, salt: ph.salt, hash: ph.hash },
    wrappedSigningKey: { alg: wk.alg, data: wk.data },
  }
}

function endorsementHolds(userId: string, e: EndorsedPart): boolean {
  try {
    return ed25519.verify(
      hexToBytes(e.endorsement.signature),
      endorsementBytes(userId as UserId, e),
      hexToBytes(e.endorsement.by),
    )
  } catch {
    return false
  }
}

function credentialHolds(userId: string, c: CredentialPart): boolean {
  if (!c.passwordHash || !c.wrappedSigningKey) return false
  try {
    const msg = credentialBytes(userId as UserId, {
      ...c,
      passwordHash: c.passwordHash,
      wrappedSigningKey: c.wrappedSigningKey,
    })
    return ed25519.verify(hexToBytes(c.credentialSignature), msg, hexToBytes(c.publicKey))
  } catch {
    return false
  }
}

/**
 * Order of two endorsed records of one user: the higher version wins. Two different records of the same version
 * (two admins changed the user concurrently) are a conflict, settled the same way everywhere so devices and the
 * relay converge whatever order they saw them in: `disabled` beats `active` (the safe side), then the lower
 * signature. > 0: `a` wins.
 */
export function compareEndorsed(a: EndorsedPart, b: EndorsedPart): number {
  const v = (a.version ?? 0) - (b.version ?? 0)
  if (v !== 0) return v
  if (a.endorsement.signature === b.endorsement.signature) return 0
  if (a.status !== b.status) return a.status === 'disabled' ? 1 : -1
  return a.endorsement.signature < b.endorsement.signature ? 1 : -1
}

/** The same for a user's credentials: higher credential version, then (the user changed it twice concurrently) the lower signature. */
export function compareCredentials(a: CredentialPart, b: CredentialPart): number {
  const v = (a.credentialVersion ?? 0) - (b.credentialVersion ?? 0)
  if (v !== 0) return v
  if (a.credentialSignature === b.credentialSignature) return 0
  return a.credentialSignature < b.credentialSignature ? 1 : -1
}

const sameWho = (a: EndorsedPart, b: EndorsedPart): boolean =>
  a.name === b.name && a.role === b.role && a.status === b.status && a.publicKey === b.publicKey

/**
 * The users of `register` as a holder who keeps `held` (its high-water state) believes them.
 *
 * Per user the candidates are the document's record and the held one, split in two halves that are verified and
 * versioned apart: who the user is (the admin's endorsement, `version`) and their credentials (the user's own
 * signature, `credentialVersion`, for the endorsed public key). A half ranked below the held one is never taken,
 * even when it is the only one in the document now (a rolled-back or deleted record); a half above it is taken once
 * its signature holds and — for the endorsement — its chain ends in `rootKeys` (the clinic's admin public keys,
 * hex): endorsed by a root key, or by an active admin user who is valid in turn (no self-endorsement, no cycles).
 * A held endorsement whose chain no longer holds (its admin was disabled) leaves the user out without letting an
 * older record back in. Credentials held without their verifier (`CredentialPart` from a file) still refuse older
 * ones; the user signs in again once the newer credentials are back in the document.
 */
export function reconcileUsers(
  register: UserRegister,
  held: UserHighWater,
  rootKeys: readonly string[],
): ReconciledUsers {
  const roots = new Set(rootKeys.map((k) => k.toLowerCase()))
  const docUsers = (register?.users ?? {}) as Record<string, unknown>
  const ids = new Set([...Object.keys(docUsers), ...Object.keys(held)])
  const conflicts: string[] = []
  // the candidates of each user, best first, signatures checked once
  const candidates = new Map<string, EndorsedPart[]>()
  for (const id of ids) {
    const list: EndorsedPart[] = []
    const fromDoc = Object.hasOwn(docUsers, id) ? endorsedPartOf(docUsers[id]) : undefined
    const fromHeld = Object.hasOwn(held, id) ? endorsedPartOf(held[id]?.endorsed) : undefined
    for (const e of [fromHeld, fromDoc])
      if (
        e &&
        endorsementHolds(id, e) &&
        !list.some((o) => o.endorsement.signature === e.endorsement.signature)
      )
        list.push(e)
    list.sort((a, b) => compareEndorsed(b, a))
    if (
      list.length === 2 &&
      (list[0]!.version ?? 0) === (list[1]!.version ?? 0) &&
      !sameWho(list[0]!, list[1]!)
    )
      conflicts.push(id)
    candidates.set(id, list)
  }
  // (a list: a forged record may copy a real admin's public key; it must not hide the real one)
  const adminsByKey = new Map<string, string[]>()
  for (const [id, list] of candidates) {
    for (const e of list) {
      const k = e.publicKey.toLowerCase()
      if (e.role === 'admin' && e.status === 'active' && !(adminsByKey.get(k) ?? []).includes(id))
        adminsByKey.set(k, [...(adminsByKey.get(k) ?? []), id])
    }
  }
  // the floor: the held record, once its own signature holds (a tampered local file sets no floor)
  const floorOf = (id: string): EndorsedPart | undefined => {
    const sig = Object.hasOwn(held, id) ? held[id]?.endorsed?.endorsement?.signature : undefined
    return sig === undefined ? undefined : candidates.get(id)?.find((e) => e.endorsement.signature === sig)
  }
  const chosenMemo = new Map<string, EndorsedPart | null>()
  const chosen = (id: string, path: Set<string>): EndorsedPart | undefined => {
    const known = chosenMemo.get(id)
    if (known !== undefined) return known ?? undefined
    if (path.has(id)) return undefined
    const floor = floorOf(id)
    let pick: EndorsedPart | undefined
    for (const e of candidates.get(id) ?? []) {
      if (floor && compareEndorsed(e, floor) < 0) continue
      const by = e.endorsement.by.toLowerCase()
      const inner = new Set([...path, id])
      const vouched =
        roots.has(by) ||
        (adminsByKey.get(by) ?? []).some((a) => {
          if (a === id) return false
          const admin = chosen(a, inner)
          return (
            admin !== undefined &&
            admin.role === 'admin' &&
            admin.status === 'active' &&
            admin.publicKey.toLowerCase() === by
          )
        })
      if (vouched) {
        pick = e
        break
      }
    }
    chosenMemo.set(id, pick ?? null)
    return pick
  }

  const users: UserRegister = { users: {} }
  const next: UserHighWater = {}
  const stale: string[] = []
  let changed = false
  for (const id of ids) {
    const before = Object.hasOwn(held, id) ? held[id] : undefined
    const e = chosen(id, new Set())
    if (!e) {
      if (before) next[id] = before // the floor stays, even while nobody valid vouches for the user
      continue
    }
    const docCred = Object.hasOwn(docUsers, id) ? credentialPartOf(docUsers[id]) : undefined
    const heldCred = before?.credential?.publicKey === e.publicKey ? before.credential : undefined
    let cred: CredentialPart | undefined
    for (const c of [
      docCred && docCred.publicKey === e.publicKey && credentialHolds(id, docCred) ? docCred : undefined,
      heldCred && (!heldCred.passwordHash || credentialHolds(id, heldCred)) ? heldCred : undefined,
    ]) {
      if (!c) continue
      const cmp = cred === undefined ? 1 : compareCredentials(c, cred)
      // on a tie (the same credentials) the one carrying its verifier wins: a held marker is not usable itself
      if (cmp > 0 || (cmp === 0 && c.passwordHash && !cred?.passwordHash)) cred = c
    }
    next[id] = { endorsed: e, ...(cred ? { credential: cred } : {}) }
    if (
      !before ||
      before.endorsed.endorsement?.signature !== e.endorsement.signature ||
      before.credential?.credentialSignature !== cred?.credentialSignature
    )
      changed = true
    if (!cred?.passwordHash || !cred.wrappedSigningKey) continue // credentials unknown here: cannot sign in on this holder
    const record: EndorsedUserRecord = {
      ...e,
      passwordHash: cred.passwordHash,
      wrappedSigningKey: cred.wrappedSigningKey,
      credentialSignature: cred.credentialSignature,
      ...(cred.credentialVersion !== undefined ? { credentialVersion: cred.credentialVersion } : {}),
    }
    users.users[id] = record
    const inDoc = Object.hasOwn(docUsers, id)
      ? (docUsers[id] as Partial<EndorsedUserRecord> | undefined)
      : undefined
    if (
      inDoc?.endorsement?.signature !== e.endorsement.signature ||
      inDoc?.credentialSignature !== cred.credentialSignature
    )
      stale.push(id)
  }
  for (const id of Object.keys(held)) if (!Object.hasOwn(next, id)) changed = true
  return { users, held: next, changed, stale, conflicts }
}

/** `held` without password verifiers and wrapped keys (what a device may keep in a plain file beside its data). */
export function withoutVerifiers(held: UserHighWater): UserHighWater {
  const out: UserHighWater = {}
  for (const [id, h] of Object.entries(held)) {
    const c = h.credential
    out[id] = {
      endorsed: h.endorsed,
      ...(c
        ? {
            credential: {
              publicKey: c.publicKey,
              ...(c.credentialVersion !== undefined ? { credentialVersion: c.credentialVersion } : {}),
              credentialSignature: c.credentialSignature,
            },
          }
        : {}),
    }
  }
  return out
}

/**
 * The users of `register` whose endorsement chain ends in `rootKeys`, for a holder without any high-water state
 * (`reconcileUsers` with nothing held). Everything else is left out: unendorsed, badly signed, or vouched for by
 * someone who is not a valid admin.
 */
export function endorsedUsers(register: UserRegister, rootKeys: readonly string[]): UserRegister {
  return reconcileUsers(register, {}, rootKeys).users
}
