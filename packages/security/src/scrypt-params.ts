import { scryptAsync } from '@noble/hashes/scrypt.js'
import { utf8ToBytes } from './bytes.js'

/** scrypt cost parameters. Memory ≈ 128 · N · r bytes; time grows linearly with N · r · p. */
export interface ScryptParams {
  readonly N: number
  readonly r: number
  readonly p: number
}

/** Password hashing at login: 32 MiB, ~0.25 s on a 2-core laptop with @noble/hashes; more on a cheap tablet. */
export const PASSWORD_SCRYPT: ScryptParams = { N: 2 ** 15, r: 8, p: 1 }
/** Key-file unlock (once per boot): 64 MiB, ~0.3 s on the same laptop. */
export const KEY_FILE_SCRYPT: ScryptParams = { N: 2 ** 16, r: 8, p: 1 }

export function checkScryptParams(params: ScryptParams): void {
  const { N, r, p } = params
  const pow2 = Number.isInteger(N) && N >= 2 ** 10 && N <= 2 ** 20 && (N & (N - 1)) === 0
  // 128·N·r ≤ 256 MiB: a hostile register entry cannot make login exhaust a tablet's memory
  if (
    !pow2 ||
    128 * N * r > 2 ** 28 ||
    !Number.isInteger(r) ||
    r < 1 ||
    r > 32 ||
    !Number.isInteger(p) ||
    p < 1 ||
    p > 16
  ) {
    throw new RangeError(`bad scrypt parameters N=${N} r=${r} p=${p}`)
  }
}

/** scrypt → 32 bytes, yielding to the event loop while it runs. */
export async function deriveKey(
  secret: string | Uint8Array,
  salt: Uint8Array,
  params: ScryptParams,
): Promise<Uint8Array> {
  checkScryptParams(params)
  const pw = typeof secret === 'string' ? utf8ToBytes(secret.normalize('NFKC')) : secret
  return scryptAsync(pw, salt, { N: params.N, r: params.r, p: params.p, dkLen: 32, maxmem: 2 ** 30 })
}
