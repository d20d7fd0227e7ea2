import { encodeHeads } from '@automerge/automerge-repo'

/**
 * Memoizes the base58check encoding automerge-repo gives every head (and document id), which it recomputes on every
 * comparison: a DocHandle encodes its heads before and after each state-machine update to compare them
 * (`#checkForChanges`), the StorageSubsystem the old and new heads of each save (`#shouldSave`), always the same few
 * heads. Each encode is a double SHA-256 in JS (@noble/hashes) and a base58 loop: ~8 µs, ~15-18 % of a relay's CPU at
 * 1,000 clinics (bench P12, after another instance was killed). A hit costs ~0.35 µs.
 *
 * automerge-repo 2.5 imports `bs58check` 3 (CommonJS: `module.exports = { encode, decode, decodeUnsafe }`) and calls
 * `bs58check.encode` at call time, so replacing `encode` on the very exports object automerge-repo resolves (found
 * from automerge-repo's own location) routes it here. The encoding is a pure function of the bytes: a hit returns
 * the string the original returned for the same bytes; anything else (not a Uint8Array, longer than 64 bytes) goes
 * to the original. The cache holds at most `HEADS_MEMO_MAX` entries (oldest evicted first: a few MB).
 *
 * Node only (`process.getBuiltinModule`): in a browser the hook does not install and encoding stays stock. Pinned
 * with the other hooks (`index.ts`); `pinned-hooks.test.ts` checks the internals.
 */
export const HEADS_MEMO_MAX = 50_000
/** Heads are 32 bytes, document ids 16: longer inputs are not cached. */
const MAX_BYTES = 64
const MEMO = Symbol.for('clinic-mesh/heads-memo')

interface Memo {
  readonly original: (payload: Uint8Array) => string
  readonly cache: Map<string, string>
  hits: number
  misses: number
}

interface Bs58check {
  encode: (payload: Uint8Array) => string
  decode: (s: string) => Uint8Array
  [MEMO]?: Memo
}

/** The `bs58check` exports object automerge-repo uses (resolved from its location), or undefined (browser). */
function repoBs58check(): Bs58check | undefined {
  const mod = globalThis.process?.getBuiltinModule?.('node:module')
  if (!mod) return undefined
  try {
    const repoEntry = mod.createRequire(import.meta.url).resolve('@automerge/automerge-repo')
    return mod.createRequire(repoEntry)('bs58check') as Bs58check
  } catch {
    return undefined
  }
}

/** The internals this relies on, as found: every entry must be true for the hook to install (see the test). */
export function headsMemoInternals(): Record<string, boolean> {
  const b = repoBs58check()
  return {
    'bs58check resolved from automerge-repo': b !== undefined,
    'bs58check.encode': typeof b?.encode === 'function',
    'encodeHeads calls bs58check.encode at call time': /bs58check\.encode\(/.test(String(encodeHeads)),
  }
}

function memoized(memo: Memo): (payload: Uint8Array) => string {
  return function encode(payload: Uint8Array): string {
    if (!(payload instanceof Uint8Array) || payload.length > MAX_BYTES) return memo.original(payload)
    const key = Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('latin1')
    const found = memo.cache.get(key)
    if (found !== undefined) {
      memo.hits++
      return found
    }
    memo.misses++
    const encoded = memo.original(payload)
    if (memo.cache.size >= HEADS_MEMO_MAX) memo.cache.delete(memo.cache.keys().next().value as string)
    memo.cache.set(key, encoded)
    return encoded
  }
}

/** Routes automerge-repo's base58check encoding through the memo (idempotent, process-wide). False if it cannot. */
export function memoizeHeadsEncoding(): boolean {
  const b = repoBs58check()
  if (!b) return false
  if (b[MEMO]) return true
  if (!Object.values(headsMemoInternals()).every(Boolean)) return false
  const memo: Memo = { original: b.encode, cache: new Map(), hits: 0, misses: 0 }
  b.encode = memoized(memo)
  b[MEMO] = memo
  return true
}

/** The memo's counters in this process (tests, the bench); `installed: false` while automerge-repo's is stock. */
export function headsMemoStats(): { installed: boolean; hits: number; misses: number; size: number } {
  const memo = repoBs58check()?.[MEMO]
  if (!memo) return { installed: false, hits: 0, misses: 0, size: 0 }
  return { installed: true, hits: memo.hits, misses: memo.misses, size: memo.cache.size }
}
