import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import type { ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const MAIN = fileURLToPath(new URL('../../apps/relay/dist/main.js', import.meta.url))

export interface ApiReply<T = Record<string, unknown>> {
  status: number
  body: T
}

/** `POST /api/login`'s answer. */
export interface RelayLogin {
  token: string
  user: { id: string; name: string; role: string }
  clinic: string
  expiresAt: string
}

/**
 * A random operator token and the environment that gives the relay its sha-256 (`RELAY_OPERATOR_TOKEN_SHA256`): the
 * operator reads every clinic (tests of clinics without a user register, monitoring).
 */
export function operatorToken(): { token: string; env: Record<string, string> } {
  const token = randomBytes(32).toString('base64url')
  return { token, env: { RELAY_OPERATOR_TOKEN_SHA256: createHash('sha256').update(token).digest('hex') } }
}

/** A relay running as a real child process (`node apps/relay/dist/main.js --data DIR --port N`). */
export class RelayProcess {
  readonly child: ChildProcess
  readonly port: number
  readonly dataDir: string
  readonly stderr: string[]
  /** Sent by `api()` unless told otherwise: reads every clinic. */
  readonly operatorToken: string
  readonly #exit: Promise<number | null>

  private constructor(
    child: ChildProcess,
    port: number,
    dataDir: string,
    stderr: string[],
    exit: Promise<number | null>,
    token: string,
  ) {
    this.child = child
    this.port = port
    this.dataDir = dataDir
    this.stderr = stderr
    this.#exit = exit
    this.operatorToken = token
  }

  /**
   * Spawn and wait for the `{"event":"listening"}` line (deadline 60 s: it only bounds a wait; a loaded 2-core box
   * has taken over 20 s). `args`: more command-line options (e.g. `--trust`).
   */
  static async start(dataDir: string, port = 0, args: string[] = []): Promise<RelayProcess> {
    const op = operatorToken()
    const child = spawn(process.execPath, [MAIN, '--data', dataDir, '--port', String(port), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...op.env },
    })
    const stderr: string[] = []
    createInterface({ input: child.stderr }).on('line', (l) => stderr.push(l))
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    const lines = createInterface({ input: child.stdout })
    const listening = await new Promise<{ port: number }>((resolve, reject) => {
      // a start that times out is killed, as the device helper does: left running, it outlives the test
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(new Error(`relay did not start: ${stderr.join('\n')}`))
      }, 60_000)
      lines.once('line', (l) => {
        clearTimeout(timer)
        try {
          resolve(JSON.parse(l) as { port: number })
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)))
        }
      })
      void exit.then((code) => {
        clearTimeout(timer)
        reject(new Error(`relay exited with ${code}: ${stderr.join('\n')}`))
      })
    })
    return new RelayProcess(child, listening.port, dataDir, stderr, exit, op.token)
  }

  get syncUrl(): string {
    return `ws://127.0.0.1:${this.port}/sync`
  }

  /** Send a signal and wait for the process to exit; resolves with the exit code (null when killed). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode
    this.child.kill(signal)
    return this.#exit
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null
  }

  /**
   * Call the HTTP API; `rawBody` is sent as is (to test malformed input). `token`: the bearer sent (default the
   * operator's, which reads every clinic; a reviewer's from `login()`; `null` for none).
   */
  async api<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    rawBody?: string,
    token: string | null = this.operatorToken,
  ): Promise<ApiReply<T>> {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (token !== null) headers.authorization = `Bearer ${token}`
    const init: RequestInit = { method, headers }
    if (rawBody !== undefined) init.body = rawBody
    else if (body !== undefined) init.body = JSON.stringify(body)
    const res = await fetch(`http://127.0.0.1:${this.port}${path}`, init)
    return { status: res.status, body: (await res.json()) as T }
  }

  /** `POST /api/login` as a clinic's reviewer / pharmacist / supervisor. */
  async login(clinic: string, user: string, password: string): Promise<ApiReply<RelayLogin>> {
    return this.api<RelayLogin>('POST', '/api/login', { clinic, user, password }, undefined, null)
  }
}
