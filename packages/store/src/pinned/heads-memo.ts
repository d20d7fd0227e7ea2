import { encodeHeads } from '@automerge/automerge-repo'

/**
 * Memoizes the base58check encoding automerge-repo gives every head (and document id), which it recomputes on every
 * comparison: a DocHandle encodes its heads before and after each state-machine update to compare them
 * (`#checkForChanges`), the StorageSubsystem the old and new heads of each save (`#shouldSave`), always the same few
 * heads. Each encode is a double SHA-256 in JS (@noble/hashes) and a base58 loop: ~8 µs, ~15-18 % of a relay's CPU at
 * 1,000 clinics (bench P12, after another instance was killed). Measured (1,000 heads, each encoded 4 times as a
 * handle does; load ~6 on 2 cores): encodeHeads 45-54 µs per head stock, 23-25 µs memoized (a hit ~3 µs, of which
 * ~2 µs is automerge-repo's own hex parse; a miss ~15 µs instead of ~12).
 *
 * automerge-repo 2.5 imports `bs58check` 3 (CommonJS: `module.exports = { encode, decode, decodeUnsafe }`) and calls
 * `bs58check.encode` at call time, so replacing `encode` on the very exports object automerge-repo resolves (found
 * from automerge-repo's own location) routes it here. The encoding is a pure function of the bytes: a hit returns
 * the string the original returned for the same bytes; anything else (not a Uint8Array, longer than 64 bytes) goes
 * to the original. The cache holds at most `HEADS_MEMO_MAX` entries (a few MB) in two generations: when the recent
 * one is half full it replaces the older, dropped whole (deleting the oldest entry of one Map one at a time made a
 * miss cost ~35 µs once full: V8 skips the deleted entries from the start of the Map on each `keys().next()`).
 *
 * A miss, and every decode (`decodeUnsafe`: automerge-repo checks each document id it parses, `documentIdToBinary`,
 * 8.5 % of a survivor's CPU after a kill in the same profile), computes the checksum with node:crypto's SHA-256
 * through bs58check's own `base.js` (byte-identical output), and decodes are memoized the same way (a verified payload
 * per string, handed out as a copy).
 *
 * Node only (`process.getBuiltinModule`): in a browser the hook does not install and encoding stays stock. Pinned
 * with the other hooks (`index.ts`); `pinned-hooks.test.ts` checks the internals.
 */
export const HEADS_MEMO_MAX = 50_000
/** Heads are 32 bytes, document ids 16: longer inputs are not cached. */
const MAX_BYTES = 64
const MEMO = Symbol.for('clinic-mesh/heads-memo')

/** Two generations: the recent entries, and the ones before (a hit there moves to `recent`); at most the max. */
interface Memo {
  /** entries at most, each of the two caches (encoded, decoded) */
  readonly max: number
  readonly original: (payload: Uint8Array) => string
  recent: Map<string, string>
  older: Map<string, string>
  hits: number
  misses: number
  /** decoded document ids and heads by their string (checksum verified): copies are handed out */
  decoded: Map<string, Uint8Array>
  decodedOlder: Map<string, Uint8Array>
}

interface Codec {
  encode: (payload: Uint8Array) => string
  decode: (s: string) => Uint8Array
  decodeUnsafe: (s: string) => Uint8Array | undefined
}

interface Bs58check extends Codec {
  [MEMO]?: Memo
}

/**
 * bs58check's own codec (its `base.js`, which takes the checksum function) over node:crypto's SHA-256 instead of
 * @noble/hashes' JS one: byte-identical (the test compares), ~10× cheaper a checksum. Undefined when not found.
 */
function nativeCodec(): Codec | undefined {
  const mod = globalThis.process?.getBuiltinModule?.('node:module')
  const crypto = globalThis.process?.getBuiltinModule?.('node:crypto')
  if (!mod || !crypto) return undefined
  try {
    const repoEntry = mod.createRequire(import.meta.url).resolve('@automerge/automerge-repo')
    const bs58checkPath = mod.createRequire(repoEntry).resolve('bs58check')
    const base = mod.createRequire(bs58checkPath)('./base') as (
      checksum: (b: Uint8Array) => Uint8Array,
    ) => Codec
    // the one-shot `crypto.hash` (Node ≥ 21.7) skips a Hash object per digest
    const sha = crypto.hash
      ? (b: Uint8Array): Uint8Array => crypto.hash('sha256', b, 'buffer')
      : (b: Uint8Array): Uint8Array => crypto.createHash('sha256').update(b).digest()
    return base((b) => sha(sha(b)))
  } catch {
    return undefined
  }
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
    'bs58check.decodeUnsafe': typeof b?.decodeUnsafe === 'function',
    "bs58check's base.js over node:crypto": nativeCodec() !== undefined,
  }
}

function memoized(memo: Memo): (payload: Uint8Array) => string {
  return function encode(payload: Uint8Array): string {
    if (!(payload instanceof Uint8Array) || payload.length > MAX_BYTES) return memo.original(payload)
    const key = String.fromCharCode.apply(null, payload as unknown as number[])
    let encoded = memo.recent.get(key)
    if (encoded !== undefined) {
      memo.hits++
      return encoded
    }
    encoded = memo.older.get(key)
    if (encoded !== undefined) memo.hits++
    else {
      memo.misses++
      encoded = memo.original(payload)
    }
    if (memo.recent.size >= memo.max / 2) {
      memo.older = memo.recent
      memo.recent = new Map()
    }
    memo.recent.set(key, encoded)
    return encoded
  }
}

/** `decodeUnsafe` through the memo: a verified payload per string (a copy each time: callers own what they get). */
function memoizedDecode(memo: Memo, native: Codec): (s: string) => Uint8Array | undefined {
  return function decodeUnsafe(s: string): Uint8Array | undefined {
    if (typeof s !== 'string' || s.length > 2 * MAX_BYTES) return native.decodeUnsafe(s)
    let payload = memo.decoded.get(s) ?? memo.decodedOlder.get(s)
    if (payload === undefined) {
      payload = native.decodeUnsafe(s)
      if (payload === undefined) return undefined
    }
    if (memo.decoded.size >= memo.max / 2) {
      memo.decodedOlder = memo.decoded
      memo.decoded = new Map()
    }
    memo.decoded.set(s, payload)
    return payload.slice()
  }
}

/**
 * Routes automerge-repo's base58check encoding through the memo (idempotent, process-wide: the first call's `max`
 * holds). False if it cannot. A tablet's working set is a few thousand heads and ids; a relay instance's, tens of
 * thousands (it passes a larger `max`: each entry is ~200 bytes).
 */
export function memoizeHeadsEncoding(max = HEADS_MEMO_MAX): boolean {
  const b = repoBs58check()
  if (!b) return false
  if (b[MEMO]) return true
  if (!Object.values(headsMemoInternals()).every(Boolean)) return false
  const native = nativeCodec()!
  const memo: Memo = {
    max,
    original: native.encode,
    recent: new Map(),
    older: new Map(),
    hits: 0,
    misses: 0,
    decoded: new Map(),
    decodedOlder: new Map(),
  }
  b.encode = memoized(memo)
  b.decodeUnsafe = memoizedDecode(memo, native)
  b.decode = native.decode
  b[MEMO] = memo
  return true
}

/** The memo's counters in this process (tests, the bench); `installed: false` while automerge-repo's is stock. */
export function headsMemoStats(): { installed: boolean; hits: number; misses: number; size: number } {
  const memo = repoBs58check()?.[MEMO]
  if (!memo) return { installed: false, hits: 0, misses: 0, size: 0 }
  return {
    installed: true,
    hits: memo.hits,
    misses: memo.misses,
    size: memo.recent.size + memo.older.size,
  }
}
