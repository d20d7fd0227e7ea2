import { randomBytes } from 'node:crypto'
import { TooManyRequestsError } from './http-util.js'

/**
 * Single-use nonces the relay hands out (`GET /api/challenge`) for devices to sign: a proof counts once and only
 * within `ttlMs` of its nonce, so a captured registration or sync URL cannot be replayed. Bounded without letting a
 * flood push out other devices' nonces: one client address holds at most `perClient` outstanding (unspent,
 * unexpired) nonces and all together at most `max`; past either, `issue` refuses with TooManyRequestsError (429)
 * until nonces are spent or expire.
 */
export class NonceBook {
  readonly #issued = new Map<string, { until: number; client: string }>()
  readonly #perClient = new Map<string, number>()
  readonly #ttlMs: number
  readonly #max: number
  readonly #maxPerClient: number

  constructor(ttlMs = 60_000, max = 10_000, maxPerClient = 32) {
    this.#ttlMs = ttlMs
    this.#max = max
    this.#maxPerClient = maxPerClient
  }

  /** `client`: the requester's address (nonces outstanding per address are capped). */
  issue(client = 'unknown', now = Date.now()): { nonce: string; expiresAt: string } {
    this.#prune(now)
    if ((this.#perClient.get(client) ?? 0) >= this.#maxPerClient) {
      throw new TooManyRequestsError(
        `${this.#maxPerClient} unused nonces are outstanding for this address: use them or wait ${Math.ceil(this.#ttlMs / 1000)} s`,
      )
    }
    if (this.#issued.size >= this.#max)
      throw new TooManyRequestsError('too many unused nonces are outstanding: try again shortly')
    const nonce = randomBytes(24).toString('base64url')
    this.#issued.set(nonce, { until: now + this.#ttlMs, client })
    this.#perClient.set(client, (this.#perClient.get(client) ?? 0) + 1)
    return { nonce, expiresAt: new Date(now + this.#ttlMs).toISOString() }
  }

  /** True once for a nonce issued within its lifetime; it is then spent. */
  take(nonce: string, now = Date.now()): boolean {
    const entry = this.#issued.get(nonce)
    if (entry) this.#forget(nonce, entry.client)
    return entry !== undefined && entry.until >= now
  }

  #forget(nonce: string, client: string): void {
    this.#issued.delete(nonce)
    const left = (this.#perClient.get(client) ?? 1) - 1
    if (left > 0) this.#perClient.set(client, left)
    else this.#perClient.delete(client)
  }

  #prune(now: number): void {
    for (const [nonce, { until, client }] of this.#issued) {
      if (until >= now) break // insertion order is expiry order
      this.#forget(nonce, client)
    }
  }
}
