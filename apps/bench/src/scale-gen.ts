import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { onBenchMessage, sendBench } from './ipc-port.js'
import type { Settlement } from './scale-device.js'
import type { ClinicStatus } from './scale-relay.js'

/**
 * The load generator of P12 over several processes: each generator child (scale-gen-child.ts) sets up and drives
 * its own range of clinics, the parent (scale-run.ts) runs the phases. Requests are answered once each, with a value
 * or an error; a child also sends `{ setUp: clinic }` as each clinic is set up.
 */
export type GenOp =
  /** clinics `first` … `first + count - 1`, at most `concurrency` at once → seconds it took */
  | {
      do: 'setup'
      urls: string[]
      first: number
      count: number
      spread: 'device' | 'clinic'
      concurrency: number
      /** the devices keep their documents (a storageId: the relay keeps a sync state for them) */
      storage: boolean
    }
  /** open loop from `startAt` (epoch ms): device g of all `totalDevices` writes first at startAt + g/total × interval */
  | { do: 'push'; startAt: number; intervalMs: number; totalDevices: number }
  /** remember each device's instance (to count those that moved after the kill) */
  | { do: 'mark' }
  /** stop writing */
  | { do: 'halt' }
  /** until every operation written is settled on its device, or `timeoutMs` → null, or the first that was not */
  | { do: 'drain'; timeoutMs: number }
  /** the settlements and the invariants of this child's clinics, given what the instances say → GenReport */
  | { do: 'report'; relayKey: string; settlers: ClinicStatus[] }
  | { do: 'stop' }

export interface GenReport {
  settlements: Settlement[]
  violations: string[]
  written: number
  settledOnDevices: number
  /** devices on another instance than at `mark` */
  moved: number
}

export interface GenRequest {
  id: number
  op: GenOp
}

export type GenMessage = { id: number; value?: unknown; error?: string; clinic?: string } | { setUp: string }

/** A reply carrying an error, with the clinic whose set-up failed if that is what it was. */
export class GeneratorError extends Error {
  override readonly name = 'GeneratorError'
  constructor(
    message: string,
    readonly clinic?: string,
  ) {
    super(message)
  }
}

/** One generator child, driven over IPC. */
export class Generator {
  readonly child: ChildProcess
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  #next = 0
  #stderr = ''
  readonly #exit: Promise<void>

  constructor(onSetUp: (clinic: string) => void) {
    const file = fileURLToPath(new URL('./scale-gen-child.js', import.meta.url))
    this.child = spawn(process.execPath, [file], {
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      serialization: 'advanced',
    })
    this.child.stderr?.on('data', (d: Buffer) => {
      this.#stderr = (this.#stderr + d.toString()).slice(-2000)
    })
    onBenchMessage(this.child, (raw) => {
      const m = raw as GenMessage
      if ('setUp' in m) return onSetUp(m.setUp)
      const p = this.#pending.get(m.id)
      this.#pending.delete(m.id)
      if (m.error !== undefined) p?.reject(new GeneratorError(m.error, m.clinic))
      else p?.resolve(m.value)
    })
    this.#exit = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        const why = `generator ${this.child.pid} exited ${code ?? signal}: ${this.#stderr.slice(-400)}`
        for (const p of this.#pending.values()) p.reject(new GeneratorError(why))
        this.#pending.clear()
        resolve()
      }),
    )
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null
  }

  call<T = unknown>(op: GenOp): Promise<T> {
    if (this.exited) return Promise.reject(new GeneratorError(`generator ${this.child.pid} is gone`))
    const id = this.#next++
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      sendBench(this.child, { id, op } satisfies GenRequest).catch(reject)
    })
  }

  /** Asks it to close its repos and exit; SIGKILL after `graceMs`. */
  async stop(graceMs = 30_000): Promise<void> {
    if (this.exited) return
    const kill = setTimeout(() => this.child.kill('SIGKILL'), graceMs)
    this.call({ do: 'stop' }).catch(() => this.child.kill('SIGKILL'))
    await this.#exit
    clearTimeout(kill)
  }
}

/**
 * Clinics 0 … clinics-1 in `k` contiguous ranges as even as can be: [first, count] per generator.
 */
export function ranges(clinics: number, k: number): [number, number][] {
  const out: [number, number][] = []
  for (let g = 0, first = 0; g < k; g++) {
    const count = Math.floor(clinics / k) + (g < clinics % k ? 1 : 0)
    out.push([first, count])
    first += count
  }
  return out.filter(([, n]) => n > 0)
}

/** Generators for `clinics` when not told: each holds at most 150 clinics (450 devices' repos). */
export const defaultGenerators = (clinics: number): number => Math.max(1, Math.ceil(clinics / 150))
