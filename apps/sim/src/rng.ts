/**
 * mulberry32: a tiny seeded PRNG. Everything random in the simulated world draws from one of these, so a seed
 * replays the same run byte for byte.
 */
export class Rng {
  #s: number

  constructor(seed: number) {
    this.#s = seed >>> 0
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0
    let t = this.#s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }

  chance(p: number): boolean {
    return this.next() < p
  }

  pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[this.int(items.length)]
  }

  /** A child generator (independent stream for one concern). */
  fork(): Rng {
    return new Rng(Math.floor(this.next() * 4294967296) ^ 0x9e3779b9)
  }
}

/**
 * Runs `fn` with `crypto.getRandomValues` drawing from `rng`: the record helpers mint ids (vitals, allergies) with
 * it, and those ids end up in Automerge changes whose hashes steer the sync protocol. Restored afterwards.
 */
export function withSeededIds<T>(rng: Rng, fn: () => T): T {
  const c = globalThis.crypto
  Object.defineProperty(c, 'getRandomValues', {
    configurable: true,
    writable: true,
    value: <T extends ArrayBufferView | null>(array: T): T => {
      if (array) {
        const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength)
        for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(256)
      }
      return array
    },
  })
  try {
    return fn()
  } finally {
    delete (c as { getRandomValues?: unknown }).getRandomValues
  }
}
