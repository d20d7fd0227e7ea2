import { randomBytes } from 'node:crypto'

/**
 * Single-use nonces the relay hands out (`GET /api/challenge`) for devices to sign: a proof counts once and only
 * within `ttlMs` of its nonce, so a captured registration or sync URL cannot be replayed. Bounded: past `max`
 * outstanding nonces the oldest are forgotten (their devices simply ask again).
 */
export class NonceBook {
  readonly #issued = new Map<string, number>()
  readonly #ttlMs: number
  readonly #max: number

  constructor(ttlMs = 60_000, max = 10_000) {
    this.#ttlMs = ttlMs
    this.#max = max
  }

  issue(now = Date.now()): { nonce: string; expiresAt: string } {
    this.#prune(now)
    const nonce = randomBytes(24).toString('base64url')
    this.#issued.set(nonce, now + this.#ttlMs)
    while (this.#issued.size > this.#max) this.#issued.delete(this.#issued.keys().next().value as string)
    return { nonce, expiresAt: new Date(now + this.#ttlMs).toISOString() }
  }

  /** True once for a nonce issued within its lifetime; it is then spent. */
  take(nonce: string, now = Date.now()): boolean {
    const until = this.#issued.get(nonce)
    this.#issued.delete(nonce)
    return until !== undefined && until >= now
  }

  #prune(now: number): void {
    for (const [nonce, until] of this.#issued) {
      if (until >= now) break // insertion order is expiry order
      this.#issued.delete(nonce)
    }
  }
}
