import { ed25519 } from '@noble/curves/ed25519.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js'
import type { ConflictQueueDoc, RelaySignature, SettledInventoryDoc } from '@clinic-mesh/contracts'

/**
 * The relay's signature over the documents only it writes (SettledInventoryDoc, ConflictQueueDoc). Automerge
 * authorises no write, so any member (a nurse's browser, a stolen tablet) can rewrite them; devices believe their
 * content only when it verifies under the relay key they pinned and its `version` is not lower than the last one
 * they verified (an old signed copy written back is a rollback, not news).
 */

export const SETTLED_INVENTORY_CONTEXT = 'clinic-mesh/settled-inventory/v1'
export const CONFLICT_QUEUE_CONTEXT = 'clinic-mesh/conflict-queue/v1'

/** What the settled inventory's signature covers: everything but the signature. */
export type SettledInventoryContent = Omit<SettledInventoryDoc, 'relaySignature'>
export type ConflictQueueContent = Omit<ConflictQueueDoc, 'relaySignature'>

export type RelayDocReason =
  'unsigned' | 'malformed' | 'wrong-clinic' | 'wrong-key' | 'bad-signature' | 'rolled-back'
export type RelayDocCheck =
  | { readonly ok: true; readonly version: number }
  | { readonly ok: false; readonly reason: RelayDocReason; readonly detail: string }

/**
 * An Ed25519 verification (signature, message, public key → valid). By default @noble/curves (browsers and Node
 * alike); the relay passes node:crypto's (OpenSSL, ~30× faster: a takeover checks two documents per clinic).
 */
export type Ed25519Verify = (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean

export interface RelayDocExpect {
  /** How to verify (default: @noble/curves) */
  readonly verify?: Ed25519Verify
  /** hex Ed25519 public key of the relay (pinned by the device) */
  readonly relayKey: string
  readonly clinic: string
  /** The last version verified before: a lower one is refused (`rolled-back`). */
  readonly minVersion?: number
}

const isVersion = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1

function sortedEntries(o: Readonly<Record<string, unknown>>): [string, unknown][] {
  return Object.keys(o)
    .sort()
    .map((k) => [k, o[k]])
}

/** The context string, a newline and the sha-256 (hex) of a JSON array of the fields: never a bare digest. */
function contextBytes(context: string, fields: unknown[]): Uint8Array {
  return utf8ToBytes(`${context}\n${bytesToHex(sha256(utf8ToBytes(JSON.stringify([context, ...fields]))))}`)
}

/** The signed bytes of a settled inventory: every content field in a fixed order, the version and the clinic. */
export function settledInventoryBytes(doc: SettledInventoryContent, version: number): Uint8Array {
  return contextBytes(SETTLED_INVENTORY_CONTEXT, [
    doc.kind,
    doc.clinic,
    version,
    doc.settledAt,
    doc.decidedOps,
    sortedEntries(doc.watermarks),
    doc.state,
  ])
}

/** The signed bytes of a conflict queue: every (id, entry) pair sorted by id. */
export function conflictQueueBytes(doc: ConflictQueueContent, version: number): Uint8Array {
  return contextBytes(CONFLICT_QUEUE_CONTEXT, [doc.kind, doc.clinic, version, sortedEntries(doc.conflicts)])
}

/** A new relay identity secret (32 bytes, Ed25519). */
export function newRelaySecret(): Uint8Array {
  return ed25519.utils.randomSecretKey()
}

/** hex public key of a relay secret. */
/** Public keys of the secret keys that signed here: a relay signs every round with one key (P12: 1.6 % of its CPU). */
const publicKeys = new WeakMap<Uint8Array, string>()

export function relayPublicKeyOf(secretKey: Uint8Array): string {
  let key = publicKeys.get(secretKey)
  if (key === undefined) {
    key = bytesToHex(ed25519.getPublicKey(secretKey))
    publicKeys.set(secretKey, key)
  }
  return key
}

/** An Ed25519 signature (message, 32-byte secret key → 64 bytes); by default @noble/curves, as `Ed25519Verify`. */
export type Ed25519Sign = (message: Uint8Array, secretKey: Uint8Array) => Uint8Array

const nobleSign: Ed25519Sign = (m, k) => ed25519.sign(m, k)

function seal(bytes: Uint8Array, version: number, secretKey: Uint8Array, sign: Ed25519Sign): RelaySignature {
  return { version, key: relayPublicKeyOf(secretKey), signature: bytesToHex(sign(bytes, secretKey)) }
}

export function signSettledInventory(
  doc: SettledInventoryContent,
  version: number,
  secretKey: Uint8Array,
  sign: Ed25519Sign = nobleSign,
): RelaySignature {
  return seal(settledInventoryBytes(doc, version), version, secretKey, sign)
}

export function signConflictQueue(
  doc: ConflictQueueContent,
  version: number,
  secretKey: Uint8Array,
  sign: Ed25519Sign = nobleSign,
): RelaySignature {
  return seal(conflictQueueBytes(doc, version), version, secretKey, sign)
}

function shapeOf(doc: unknown, kind: string): string | null {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'not an object'
  const d = doc as Record<string, unknown>
  if (d.kind !== kind) return `kind is not ${kind}`
  if (typeof d.clinic !== 'string') return 'clinic missing'
  if (kind === 'settled-inventory/1') {
    if (typeof d.settledAt !== 'string' || typeof d.decidedOps !== 'number' || typeof d.state !== 'string')
      return 'content fields missing'
    if (typeof d.watermarks !== 'object' || d.watermarks === null) return 'watermarks missing'
  } else if (typeof d.conflicts !== 'object' || d.conflicts === null) return 'conflicts missing'
  return null
}

function check(
  doc: unknown,
  kind: string,
  bytes: (version: number) => Uint8Array,
  expect: RelayDocExpect,
): RelayDocCheck {
  const bad = shapeOf(doc, kind)
  if (bad) return { ok: false, reason: 'malformed', detail: bad }
  const d = doc as { clinic: string; relaySignature?: Partial<RelaySignature> }
  const sig = d.relaySignature
  if (!sig) return { ok: false, reason: 'unsigned', detail: 'the document carries no relay signature' }
  if (!isVersion(sig.version) || typeof sig.key !== 'string' || typeof sig.signature !== 'string')
    return { ok: false, reason: 'malformed', detail: 'relay signature fields missing' }
  if (d.clinic !== expect.clinic)
    return {
      ok: false,
      reason: 'wrong-clinic',
      detail: `document of clinic ${d.clinic}, not ${expect.clinic}`,
    }
  if (sig.key.toLowerCase() !== expect.relayKey.toLowerCase())
    return {
      ok: false,
      reason: 'wrong-key',
      detail: `signed by ${sig.key.slice(0, 16)}…, not the pinned relay key`,
    }
  let ok: boolean
  try {
    const verify = expect.verify ?? ((s, m, k) => ed25519.verify(s, m, k))
    ok = verify(hexToBytes(sig.signature), bytes(sig.version), hexToBytes(expect.relayKey))
  } catch {
    ok = false // malformed hex or key bytes
  }
  if (!ok)
    return {
      ok: false,
      reason: 'bad-signature',
      detail: `version ${sig.version}: the relay signature does not verify (content changed after signing)`,
    }
  if (sig.version < (expect.minVersion ?? 0))
    return {
      ok: false,
      reason: 'rolled-back',
      detail: `version ${sig.version} is older than version ${expect.minVersion} verified before`,
    }
  return { ok: true, version: sig.version }
}

/** Does this (plain, e.g. a JSON copy of an Automerge document) settled inventory verify? */
export function verifySettledInventory(doc: unknown, expect: RelayDocExpect): RelayDocCheck {
  return check(
    doc,
    'settled-inventory/1',
    (v) => settledInventoryBytes(doc as SettledInventoryContent, v),
    expect,
  )
}

export function verifyConflictQueue(doc: unknown, expect: RelayDocExpect): RelayDocCheck {
  return check(doc, 'conflict-queue/1', (v) => conflictQueueBytes(doc as ConflictQueueContent, v), expect)
}
