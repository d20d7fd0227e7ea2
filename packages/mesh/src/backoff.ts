import { DEFAULT_BACKOFF } from './constants.js'

export interface BackoffPolicy {
  initialMs: number
  maxMs: number
  factor: number
}

/**
 * Per-key retry timers with exponential backoff and ±20 % jitter. `succeeded(key)` resets a key;
 * `cancelAll()` on shutdown or when the mesh is disabled.
 */
export class Backoff {
  readonly #policy: BackoffPolicy
  readonly #state = new Map<string, { attempt: number; timer: ReturnType<typeof setTimeout> | undefined }>()

  constructor(policy: Partial<BackoffPolicy> = {}) {
    this.#policy = { ...DEFAULT_BACKOFF, ...policy }
  }

  delayFor(attempt: number): number {
    const base = Math.min(this.#policy.maxMs, this.#policy.initialMs * this.#policy.factor ** attempt)
    return Math.round(base * (0.8 + 0.4 * Math.random()))
  }

  /** Runs `fn` after the key's next delay, unless a retry is already pending. */
  schedule(key: string, fn: () => void): void {
    const s = this.#state.get(key) ?? { attempt: 0, timer: undefined }
    if (s.timer !== undefined) return
    const delay = this.delayFor(s.attempt)
    s.attempt++
    s.timer = setTimeout(() => {
      s.timer = undefined
      fn()
    }, delay)
    s.timer.unref?.()
    this.#state.set(key, s)
  }

  pending(key: string): boolean {
    return this.#state.get(key)?.timer !== undefined
  }

  succeeded(key: string): void {
    const s = this.#state.get(key)
    if (s?.timer !== undefined) clearTimeout(s.timer)
    this.#state.delete(key)
  }

  cancelAll(): void {
    for (const s of this.#state.values()) if (s.timer !== undefined) clearTimeout(s.timer)
    this.#state.clear()
  }
}
