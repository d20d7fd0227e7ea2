import { ClinicMeshError } from '@clinic-mesh/contracts'

/** Too many requests of one kind from one client (or from everyone) within the window: 429. */
export class TooManyRequestsError extends ClinicMeshError {
  constructor(message: string) {
    super('TooManyRequestsError', message)
  }
}

export interface RateLimitInit {
  /** Requests one client (address) may make per window. */
  perClient: number
  /** Requests all clients together may make per window. */
  total: number
  windowMs: number
  now?: () => number
}

/**
 * A fixed-window counter per client address and overall; past either limit `take` throws TooManyRequestsError
 * (nothing else is done for that request). Memory is bounded by `total` entries per window.
 */
export class RateLimiter {
  readonly #init: RateLimitInit
  readonly #now: () => number
  #windowStart = 0
  #total = 0
  readonly #clients = new Map<string, number>()

  constructor(init: RateLimitInit) {
    this.#init = init
    this.#now = init.now ?? Date.now
  }

  take(client: string | undefined): void {
    const now = this.#now()
    if (now - this.#windowStart >= this.#init.windowMs) {
      this.#windowStart = now
      this.#total = 0
      this.#clients.clear()
    }
    const key = client ?? 'unknown'
    const mine = this.#clients.get(key) ?? 0
    const retry = Math.ceil((this.#windowStart + this.#init.windowMs - now) / 1000)
    if (mine >= this.#init.perClient)
      throw new TooManyRequestsError(`too many requests from this address: try again in ${retry} s`)
    if (this.#total >= this.#init.total)
      throw new TooManyRequestsError(`too many requests: try again in ${retry} s`)
    this.#clients.set(key, mine + 1)
    this.#total++
  }
}

/** Join offers (each a PAKE step the admin device keeps state for): 8 per address and 40 overall per minute. */
export const joinOfferLimiter = (): RateLimiter =>
  new RateLimiter({ perClient: 8, total: 40, windowMs: 60_000 })
