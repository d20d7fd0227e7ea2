import { describe, expect, it } from 'vitest'
import { createHash, randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { Repo, decodeHeads, encodeHeads, isValidDocumentId } from '@automerge/automerge-repo'
import { MemoryStorage } from '@clinic-mesh/testing'
import { HEADS_MEMO_MAX, headsMemoStats, installAutomergeHooks } from '@clinic-mesh/store'

/** base58check built afresh from bs58check's own base, with node:crypto's SHA-256: not the memo, not its cache. */
function referenceEncode(): (payload: Uint8Array) => string {
  const repoEntry = createRequire(import.meta.url).resolve('@automerge/automerge-repo')
  const bs58checkPath = createRequire(repoEntry).resolve('bs58check')
  const base = createRequire(bs58checkPath)('./base') as (checksum: (b: Uint8Array) => Uint8Array) => {
    encode: (p: Uint8Array) => string
  }
  const sha = (b: Uint8Array): Uint8Array => createHash('sha256').update(b).digest()
  return base((b) => sha(sha(b))).encode
}

const hexHeads = (n: number): string[] => Array.from({ length: n }, () => randomBytes(32).toString('hex'))

describe('the heads memo (pinned/heads-memo.ts)', () => {
  it("is what automerge-repo's encodeHeads goes through once the hooks are installed", async () => {
    installAutomergeHooks(new Repo({ storage: new MemoryStorage(), network: [] }))
    const heads = hexHeads(200)
    const s0 = headsMemoStats()
    expect(s0.installed).toBe(true)
    const first = encodeHeads(heads)
    const s1 = headsMemoStats()
    expect(s1.misses - s0.misses).toBe(200)
    const again = encodeHeads(heads)
    const s2 = headsMemoStats()
    expect(s2.hits - s1.hits).toBe(200)
    expect(s2.misses).toBe(s1.misses)
    const ref = referenceEncode()
    expect(again).toEqual(first)
    expect(first).toEqual(heads.map((h) => ref(Buffer.from(h, 'hex'))))
    expect(decodeHeads(first)).toEqual(heads)

    // a DocHandle comparing its heads on a change, and the repo's save of it, hit the memo
    const repo = new Repo({ storage: new MemoryStorage(), network: [] })
    const handle = repo.create<{ n: number }>({ n: 0 })
    const s3 = headsMemoStats()
    for (let i = 1; i <= 5; i++) handle.change((d) => void (d.n = i))
    await repo.flush()
    const s4 = headsMemoStats()
    expect(s4.hits - s3.hits).toBeGreaterThanOrEqual(5)
  })

  it('gives the stock encoding for every input, also once evicted, and stays bounded', () => {
    installAutomergeHooks(new Repo({ storage: new MemoryStorage(), network: [] }))
    const ref = referenceEncode()
    const repoEntry = createRequire(import.meta.url).resolve('@automerge/automerge-repo')
    const bs58check = createRequire(repoEntry)('bs58check') as { encode: (p: Uint8Array) => string }
    // ids and heads, other lengths (cached up to 64 bytes, else straight to the original), views into a larger buffer
    const odd = [0, 1, 4, 16, 31, 33, 64, 65, 100].map((n) => new Uint8Array(randomBytes(n)))
    const big = randomBytes(4096)
    const views = [0, 7, 100].map((at) => new Uint8Array(big.buffer, big.byteOffset + at, 32))
    for (const b of [...odd, ...views]) {
      expect(bs58check.encode(b)).toBe(ref(b))
      expect(bs58check.encode(b)).toBe(ref(b))
    }
    const inputs = Array.from({ length: HEADS_MEMO_MAX + 2000 }, () => new Uint8Array(randomBytes(32)))
    inputs.forEach((b, i) => {
      bs58check.encode(b)
      if (i % 1000 === 0) expect(headsMemoStats().size).toBeLessThanOrEqual(HEADS_MEMO_MAX)
    })
    expect(headsMemoStats().size).toBeGreaterThanOrEqual(HEADS_MEMO_MAX / 2)
    // the oldest were evicted (computed again), the newest are still there: all equal the stock encoding
    const before = headsMemoStats()
    for (const b of [...inputs.slice(0, 500), ...inputs.slice(-500)]) expect(bs58check.encode(b)).toBe(ref(b))
    const after = headsMemoStats()
    expect(after.misses - before.misses).toBe(500)
    expect(after.hits - before.hits).toBe(500)
    expect(after.size).toBeLessThanOrEqual(HEADS_MEMO_MAX)
  })

  it('decodes document ids as the stock codec does: a forged checksum refused, each caller its own copy', () => {
    installAutomergeHooks(new Repo({ storage: new MemoryStorage(), network: [] }))
    const ref = referenceEncode()
    const repoEntry = createRequire(import.meta.url).resolve('@automerge/automerge-repo')
    const bs58check = createRequire(repoEntry)('bs58check') as {
      decodeUnsafe: (s: string) => Uint8Array | undefined
    }
    const ids = Array.from({ length: 50 }, () => new Uint8Array(randomBytes(16)))
    for (const id of ids) {
      const s = ref(id)
      expect(isValidDocumentId(s)).toBe(true)
      const a = bs58check.decodeUnsafe(s)!
      expect(a).toEqual(id)
      a[0] = a[0]! ^ 0xff // a caller that writes into what it got does not change what the next one gets
      expect(bs58check.decodeUnsafe(s)).toEqual(id)
      // the same id with its last character changed: a wrong checksum, not a document id
      const last = s.at(-1) === '2' ? '3' : '2'
      expect(isValidDocumentId(s.slice(0, -1) + last)).toBe(false)
    }
  })
})
