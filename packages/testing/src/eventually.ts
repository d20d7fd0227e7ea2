import { ClinicMeshError } from '@clinic-mesh/contracts'

/** Something that emits events: a DOM-style EventTarget or a Node/eventemitter3 emitter. */
export type Emitter =
  | {
      addEventListener(type: string, fn: () => void): void
      removeEventListener(type: string, fn: () => void): void
    }
  | { on(type: string, fn: () => void): unknown; off(type: string, fn: () => void): unknown }

export class EventuallyTimeoutError extends ClinicMeshError {
  constructor(message: string) {
    super('EventuallyTimeoutError', message)
  }
}

export interface EventuallyOptions {
  /** give up after this long (default 5000 ms) */
  timeoutMs?: number
  /** re-check whenever one of these fires */
  on?: Array<[Emitter, string]>
  /** also re-check at this period, for state that changes without an event (default 20 ms) */
  pollMs?: number
  /** what is awaited, for the timeout message */
  what?: string
}

export function listen(target: Emitter, type: string, fn: () => void): () => void {
  if ('addEventListener' in target) {
    target.addEventListener(type, fn)
    return () => target.removeEventListener(type, fn)
  }
  target.on(type, fn)
  return () => void target.off(type, fn)
}

/**
 * Resolves with the predicate's first truthy value. The predicate is checked at once, after every listed
 * event, and every `pollMs`; rejects with EventuallyTimeoutError after `timeoutMs`.
 */
export function eventually<T>(
  predicate: () => T | undefined | null | false,
  opts: EventuallyOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 5000
  return new Promise<T>((resolve, reject) => {
    const offs: Array<() => void> = []
    let done = false
    const finish = (fn: () => void): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      clearInterval(poll)
      for (const off of offs) off()
      fn()
    }
    const check = (): void => {
      if (done) return
      try {
        const v = predicate()
        if (v) finish(() => resolve(v))
      } catch (err) {
        finish(() => reject(err instanceof Error ? err : new Error(String(err))))
      }
    }
    const timer = setTimeout(
      () =>
        finish(() =>
          reject(
            new EventuallyTimeoutError(
              `not true within ${timeoutMs} ms: ${opts.what ?? predicate.toString()}`,
            ),
          ),
        ),
      timeoutMs,
    )
    const poll = setInterval(check, opts.pollMs ?? 20)
    for (const [target, type] of opts.on ?? []) offs.push(listen(target, type, () => queueMicrotask(check)))
    check()
  })
}

/** The next `type` event of `target` (its payload), or EventuallyTimeoutError. */
export function nextEvent<T = unknown>(target: Emitter, type: string, timeoutMs = 5000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      off()
      reject(new EventuallyTimeoutError(`no '${type}' event within ${timeoutMs} ms`))
    }, timeoutMs)
    const off = listen(target, type, ((payload: T) => {
      clearTimeout(timer)
      off()
      resolve(payload)
    }) as () => void)
  })
}
