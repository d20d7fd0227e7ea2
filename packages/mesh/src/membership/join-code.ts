import { ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { concatBytes, randomBytes, utf8ToBytes } from '@noble/hashes/utils.js'
import { JoinError } from '../errors.js'

/**
 * Pure crypto of the offline join: a short code shown on an enrolled admin device authenticates a
 * PAKE (CPace-style, over ristretto255) between the admin device and the new tablet. An eavesdropper
 * learns nothing it can brute-force offline; an active attacker gets one guess per attempt, and the admin
 * side burns the code after `maxAttempts` wrong confirmations. See docs/protocols/sync.md (membership).
 */

const DST = 'clinic-mesh/join/v1'
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ' // Crockford base32: no I, L, O, U

export interface JoinCode {
  /** 8 base32 characters shown as XXXX-XXXX (40 bits) */
  code: string
  /** epoch ms after which the admin side refuses it */
  expiresAt: number
}

export function createJoinCode(opts: { now?: number; ttlMs?: number } = {}): JoinCode {
  const bytes = randomBytes(5)
  let n = 0n
  for (const b of bytes) n = (n << 8n) | BigInt(b)
  let code = ''
  for (let i = 0; i < 8; i++) {
    code = ALPHABET[Number(n & 31n)]! + code
    n >>= 5n
  }
  return {
    code: `${code.slice(0, 4)}-${code.slice(4)}`,
    expiresAt: (opts.now ?? Date.now()) + (opts.ttlMs ?? 10 * 60_000),
  }
}

/** Upper-cases, drops separators and maps look-alikes (O→0, I/L→1) so a typed code matches. */
export function normalizeJoinCode(code: string): string {
  const n = code.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1')
  if (!/^[0-9A-HJKMNP-TV-Z]{8}$/.test(n))
    throw new JoinError('a join code is 8 characters of 0-9 and A-Z (no U)')
  return n
}

type Point = InstanceType<typeof ristretto255.Point>

function generator(code: string, sid: Uint8Array): Point {
  return ristretto255_hasher.hashToCurve(concatBytes(utf8ToBytes(normalizeJoinCode(code)), sid), { DST })
}

function randomScalar(): bigint {
  let n = 0n
  for (const b of randomBytes(64)) n = (n << 8n) | BigInt(b)
  const s = n % ristretto255.Point.Fn.ORDER
  return s === 0n ? 1n : s
}

function decodePoint(bytes: Uint8Array): Point {
  let p: Point
  try {
    p = ristretto255.Point.fromBytes(bytes)
  } catch {
    throw new JoinError('peer sent an invalid group element')
  }
  if (p.is0()) throw new JoinError('peer sent the identity element')
  return p
}

export interface JoinKeys {
  confirmJoiner: Uint8Array
  confirmAdmin: Uint8Array
  /** AES-256-GCM key for joiner → admin */
  toAdmin: Uint8Array
  /** AES-256-GCM key for admin → joiner */
  toJoiner: Uint8Array
}

/** Both sides derive the same keys from the shared point and the transcript sid ‖ Y_joiner ‖ Y_admin. */
function deriveKeys(shared: Point, sid: Uint8Array, yJoiner: Uint8Array, yAdmin: Uint8Array): JoinKeys {
  const transcript = sha256(concatBytes(sid, yJoiner, yAdmin))
  const okm = hkdf(sha256, shared.toBytes(), transcript, utf8ToBytes(DST), 96)
  const kc = okm.subarray(0, 32)
  return {
    confirmJoiner: hmac(sha256, kc, concatBytes(utf8ToBytes('joiner'), transcript)),
    confirmAdmin: hmac(sha256, kc, concatBytes(utf8ToBytes('admin'), transcript)),
    toAdmin: okm.slice(32, 64),
    toJoiner: okm.slice(64, 96),
  }
}

export interface JoinHello {
  sid: Uint8Array
  y: Uint8Array
}

/** The new tablet's half: start with hello(), then keys(offer) once the admin answered. */
export class JoinPakeClient {
  readonly #scalar = randomScalar()
  readonly #hello: JoinHello

  constructor(code: string) {
    const sid = randomBytes(16)
    this.#hello = { sid, y: generator(code, sid).multiply(this.#scalar).toBytes() }
  }

  hello(): JoinHello {
    return this.#hello
  }

  keys(adminY: Uint8Array): JoinKeys {
    const shared = decodePoint(adminY).multiply(this.#scalar)
    return deriveKeys(shared, this.#hello.sid, this.#hello.y, adminY)
  }
}

/** The admin device's half: answers one hello with its own element and the derived keys. */
export function joinPakeRespond(code: string, hello: JoinHello): { y: Uint8Array; keys: JoinKeys } {
  if (hello.sid.byteLength !== 16) throw new JoinError('session id must be 16 bytes')
  const scalar = randomScalar()
  const y = generator(code, hello.sid).multiply(scalar).toBytes()
  const shared = decodePoint(hello.y).multiply(scalar)
  return { y, keys: deriveKeys(shared, hello.sid, hello.y, y) }
}
