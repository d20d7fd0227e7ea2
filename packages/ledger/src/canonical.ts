import { CanonicalJsonError, canonicalJson } from '@clinic-mesh/contracts'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'
import { InvalidOperationError } from './errors.js'
import type { Operation, UnsignedOperation } from './operation.js'

/**
 * Canonical bytes of an operation without its `hash` field (`canonicalJson` of `@clinic-mesh/contracts`). Two devices
 * encoding the same operation get the same bytes, so the same hash. A value canonical JSON cannot hold is an
 * `InvalidOperationError` (reason `bad-number` or `bad-value`).
 */
export function encodeOperation(op: UnsignedOperation | Operation): Uint8Array {
  const { hash: _hash, ...rest } = op as Operation
  try {
    return utf8ToBytes(canonicalJson(rest))
  } catch (err) {
    if (err instanceof CanonicalJsonError)
      throw new InvalidOperationError(err.reason, `${err.message} in operation`)
    throw err
  }
}

/** sha-256 (hex) of the canonical encoding. */
export function hashOperation(op: UnsignedOperation | Operation): string {
  return bytesToHex(sha256(encodeOperation(op)))
}
