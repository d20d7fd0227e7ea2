/**
 * Deterministic JSON: object keys sorted (by UTF-16 code units), no whitespace, `undefined` members omitted.
 * Only plain data (strings, finite numbers, booleans, null, arrays, plain objects) is accepted.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value)
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonicalJson: non-finite number')
      return JSON.stringify(value)
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
      const obj = value as Record<string, unknown>
      const parts: string[] = []
      for (const key of Object.keys(obj).sort()) {
        if (obj[key] === undefined) continue
        parts.push(`${JSON.stringify(key)}:${canonicalJson(obj[key])}`)
      }
      return `{${parts.join(',')}}`
    }
    default:
      throw new TypeError(`canonicalJson: unsupported ${typeof value}`)
  }
}
