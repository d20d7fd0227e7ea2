import { createWriteStream } from 'node:fs'
import { join } from 'node:path'
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const MAIN = fileURLToPath(new URL('../../relay/dist/main.js', import.meta.url))

/** One clinic in `GET /api/status`. */
export interface ClinicStatus {
  clinic: string
  opsSettled: number
  opsDecided: number
  opsPending: number
  conflictsOpen: number
  settler?: boolean
}

/** A relay instance as a child process: `node apps/relay/dist/main.js --postgres URL --port 0 ...`. */
export class RelayInstance {
  readonly child: ChildProcess
  readonly port: number
  readonly #token: string
  readonly #exit: Promise<number | null>
  readonly stderrTail: string[]

  private constructor(
    child: ChildProcess,
    port: number,
    token: string,
    exit: Promise<number | null>,
    tail: string[],
  ) {
    this.child = child
    this.port = port
    this.#token = token
    this.#exit = exit
    this.stderrTail = tail
  }

  static async start(postgresUrl: string, args: string[] = []): Promise<RelayInstance> {
    const token = randomBytes(32).toString('base64url')
    // P12_RELAY_PROF=DIR: each instance writes a V8 CPU profile to DIR when it stops (SIGTERM, not a SIGKILL)
    const prof = process.env.P12_RELAY_PROF
    const node = prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []
    const child = spawn(
      process.execPath,
      // --public-url: instances send a clinic's devices to the instance that settles it (sync-gate.ts)
      [...node, MAIN, '--postgres', postgresUrl, '--port', '0', '--public-url', 'auto', ...args],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          RELAY_OPERATOR_TOKEN_SHA256: createHash('sha256').update(token).digest('hex'),
        },
      },
    )
    const tail: string[] = []
    // the relay logs a JSON line per event: keep the last few for errors, do not hold them all
    // P12_RELAY_LOGS=DIR keeps every line of every instance in DIR/relay-<pid>.log (to read a failed run)
    const dir = process.env.P12_RELAY_LOGS
    const all = dir ? createWriteStream(join(dir, `relay-${child.pid}.log`)) : null
    createInterface({ input: child.stderr }).on('line', (l) => {
      all?.write(`${l}\n`)
      tail.push(l)
      if (tail.length > 20) tail.shift()
    })
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    const lines = createInterface({ input: child.stdout })
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`relay did not start: ${tail.join('\n')}`)), 30_000)
      lines.once('line', (l) => {
        clearTimeout(timer)
        try {
          resolve((JSON.parse(l) as { port: number }).port)
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)))
        }
      })
      void exit.then((code) => {
        clearTimeout(timer)
        reject(new Error(`relay exited with ${code}: ${tail.join('\n')}`))
      })
    })
    return new RelayInstance(child, port, token, exit, tail)
  }

  get syncUrl(): string {
    return `ws://127.0.0.1:${this.port}/sync`
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null
  }

  /** Resident set size now and its peak (VmRSS, VmHWM from /proc), in MB. */
  async rssMb(): Promise<{ rss: number; peak: number }> {
    const s = await readFile(`/proc/${this.child.pid}/status`, 'utf8')
    const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? NaN)
    return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 }
  }

  /**
   * `GET /api/status` with the operator token: the relay key and every clinic open here. A survivor taking over a
   * killed instance's clinics on a loaded box may take longer than 30 s to answer (the 300-clinic run's did).
   */
  async status(timeoutMs = 30_000): Promise<{ relayKey: string; clinics: ClinicStatus[] }> {
    const res = await fetch(`http://127.0.0.1:${this.port}/api/status`, {
      headers: { authorization: `Bearer ${this.#token}` },
      signal: AbortSignal.timeout(timeoutMs),
    })
    return (await res.json()) as { relayKey: string; clinics: ClinicStatus[] }
  }

  /** At the end of a run: SIGKILL, or SIGTERM when profiling (a CPU profile is written only at a clean exit). */
  async finish(): Promise<number | null> {
    return this.stop(process.env.P12_RELAY_PROF ? 'SIGTERM' : 'SIGKILL')
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.exited) return this.child.exitCode
    this.child.kill(signal)
    return this.#exit
  }
}
