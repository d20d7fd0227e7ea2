/** A write asked of the clinic that did not open in time (`OpenGate.wait`). */
export class ClinicNotOpenError extends Error {
  override name = 'ClinicNotOpenError'
}

/**
 * The clinic's store once it is open. A write asked for while the clinic is still opening (a clerk pressing Register
 * as the tablet finishes signing in and loading) waits for the open instead of being refused for being early: what
 * was typed goes in as soon as the records are there. Only an open that does not finish within `ms` refuses it.
 */
export class OpenGate<T> {
  #value: T | undefined
  readonly #waiting = new Set<(value: T) => void>()

  get current(): T | undefined {
    return this.#value
  }

  open(value: T): void {
    this.#value = value
    for (const w of this.#waiting) w(value)
    this.#waiting.clear()
  }

  wait(ms: number): Promise<T> {
    if (this.#value !== undefined) return Promise.resolve(this.#value)
    return new Promise<T>((resolve, reject) => {
      const done = (value: T): void => {
        clearTimeout(timer)
        resolve(value)
      }
      const timer = setTimeout(() => {
        this.#waiting.delete(done)
        reject(new ClinicNotOpenError(`the clinic is not open yet (waited ${Math.round(ms / 1000)} s)`))
      }, ms)
      this.#waiting.add(done)
    })
  }
}
