import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'
import { InvalidOperationError } from './errors.js'
import type { Operation, UnsignedOperation } from './operation.js'

/**
 * Canonical JSON: object keys sorted by code unit, no whitespace, no `undefined`, finite numbers only.
 * Two devices encoding the same operation get the same bytes, so the same hash.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'number':
      if (!Number.isFinite(value)) throw new InvalidOperationError('bad-number', 'non-finite number in operation')
      return JSON.stringify(value)
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
      const obj = value as Record<string, unknown>
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort()
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`
    }
    default:
      throw new InvalidOperationError('bad-value', `cannot encode a ${typeof value} in an operation`)
  }
}

/** Canonical bytes of an operation without its `hash` field. */
export function encodeOperation(op: UnsignedOperation | Operation): Uint8Array {
  const { hash: _hash, ...rest } = op as Operation
  return utf8ToBytes(canonicalJson(rest))
}

/** sha-256 (hex) of the canonical encoding. */
export function hashOperation(op: UnsignedOperation | Operation): string {
  return bytesToHex(sha256(encodeOperation(op)))
}
