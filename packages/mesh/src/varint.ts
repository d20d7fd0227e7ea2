/** Unsigned LEB128 varints, limited to safe integers. Pure functions, no I/O. */

/** Number of bytes `value` takes as a varint. */
export function varintLength(value: number): number {
  let n = 1
  let v = value
  while (v >= 0x80) {
    v = Math.floor(v / 128)
    n++
  }
  return n
}

/** Writes `value` at `offset` of `out`; returns the offset after it. */
export function writeVarint(value: number, out: Uint8Array, offset: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint out of range: ${value}`)
  let v = value
  let o = offset
  while (v >= 0x80) {
    out[o++] = (v % 128) | 0x80
    v = Math.floor(v / 128)
  }
  out[o++] = v
  return o
}

export type VarintRead =
  { kind: 'ok'; value: number; bytes: number } | { kind: 'incomplete' } | { kind: 'overlong' }

/**
 * Reads a varint from `get(i)` for i < `available`, accepting at most `maxBytes` bytes.
 * `overlong` when no terminating byte appears within `maxBytes` or the encoding is not minimal.
 */
export function readVarint(get: (i: number) => number, available: number, maxBytes: number): VarintRead {
  let value = 0
  let scale = 1
  for (let i = 0; i < maxBytes; i++) {
    if (i >= available) return { kind: 'incomplete' }
    const b = get(i)
    value += (b & 0x7f) * scale
    scale *= 128
    if ((b & 0x80) === 0) {
      if (i > 0 && b === 0) return { kind: 'overlong' } // non-minimal: trailing zero group
      return { kind: 'ok', value, bytes: i + 1 }
    }
  }
  return { kind: 'overlong' }
}
