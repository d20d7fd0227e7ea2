import { CanonicalJsonError } from './errors.js'

/**
 * Canonical JSON, the bytes every hash and signature in clinic-mesh is computed over (ledger operation hashes,
 * prescription hashes and signatures, signed sync batches, audit chains). One definition: two copies would drift and
 * break signatures.
 *
 * - object keys sorted by UTF-16 code unit (`Array.prototype.sort`, not locale), no whitespace;
 * - members whose value is `undefined` are omitted; array elements are never dropped (an `undefined` element throws);
 * - strings and finite numbers are written as `JSON.stringify` writes them (`-0` as `0`);
 * - non-finite numbers, bigints, functions and symbols throw `CanonicalJsonError` (reason `bad-number`/`bad-value`);
 * - `toJSON` is not called: any other object is encoded from its own enumerable string keys.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'number':
      if (!Number.isFinite(value))
        throw new CanonicalJsonError('bad-number', 'non-finite number in canonical JSON')
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
      throw new CanonicalJsonError('bad-value', `cannot encode a ${typeof value} as canonical JSON`)
  }
}
