import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const MAIN = fileURLToPath(new URL('../../apps/relay/dist/main.js', import.meta.url))

/** A relay process serving the reviewer console from another web build (`--web-dist DIR`). */
export class ConsoleRelay {
  readonly child: ChildProcess
  readonly port: number
  readonly stderr: string[]

  private constructor(child: ChildProcess, port: number, stderr: string[]) {
    this.child = child
    this.port = port
    this.stderr = stderr
  }

  /** Spawn and wait for the `{"event":"listening"}` line (deadline 20 s). */
  static async start(dataDir: string, webDist: string): Promise<ConsoleRelay> {
    const child = spawn(process.execPath, [MAIN, '--data', dataDir, '--port', '0', '--web-dist', webDist], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const stderr: string[] = []
    createInterface({ input: child.stderr }).on('line', (l) => stderr.push(l))
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`relay did not start: ${stderr.join('\n')}`)), 20_000)
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`relay exited with ${code}: ${stderr.join('\n')}`))
      })
      createInterface({ input: child.stdout }).once('line', (l) => {
        clearTimeout(timer)
        try {
          resolve((JSON.parse(l) as { port: number }).port)
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)))
        }
      })
    })
    return new ConsoleRelay(child, port, stderr)
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = new Promise((r) => this.child.once('exit', r))
    this.child.kill('SIGTERM')
    await exited
  }
}
