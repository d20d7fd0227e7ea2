import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const MAIN = fileURLToPath(new URL('../../apps/device/dist/main.js', import.meta.url))

/** What `clinic-mesh demo` printed: each tablet's URL, the relay console's, the clinic id. */
export interface DemoUrls {
  console: string
  tablets: Record<'Reception' | 'Consultation' | 'Pharmacy', string>
  clinic: string
  /** the line printed after the starting formulary went in */
  formulary: string
}

/**
 * `clinic-mesh demo` as a user runs it (`npm start` without the build): one relay and three device processes, the
 * demo accounts and the WHO starting formulary, in a temp data dir on free ports. Read back from its own output.
 */
export class DemoProcess {
  readonly child: ChildProcess
  readonly urls: DemoUrls
  readonly output: string[]

  private constructor(child: ChildProcess, urls: DemoUrls, output: string[]) {
    this.child = child
    this.urls = urls
    this.output = output
  }

  static async start(dataDir: string, timeoutMs = 120_000): Promise<DemoProcess> {
    const child = spawn(process.execPath, [MAIN, 'demo', '--data', dataDir, '--base-port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: stop() ends the relay and devices with it
    })
    const output: string[] = []
    createInterface({ input: child.stderr }).on('line', (l) => output.push(l))
    const found: Record<string, string> = {}
    const urls = await new Promise<DemoUrls>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`demo not up in ${timeoutMs} ms:\n${output.slice(-30).join('\n')}`)),
        timeoutMs,
      )
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`demo exited with ${code}:\n${output.slice(-30).join('\n')}`))
      })
      createInterface({ input: child.stdout }).on('line', (l) => {
        output.push(l)
        const row = /^(relay console|Reception|Consultation|Pharmacy|formulary)\s+(.+)$/.exec(l)
        if (row) found[row[1]!] = row[2]!.trim()
        const open = /^\[Reception\] clinic open \((.+)\)$/.exec(l)
        if (open) found.clinic = open[1]!
        if (/^sign in as /.test(l)) {
          clearTimeout(timer)
          if (!found['relay console'] || !found.clinic || !found.formulary)
            reject(new Error(`demo output lacks a URL or the formulary:\n${output.join('\n')}`))
          else
            resolve({
              console: found['relay console'],
              tablets: {
                Reception: found.Reception!,
                Consultation: found.Consultation!,
                Pharmacy: found.Pharmacy!,
              },
              clinic: found.clinic,
              formulary: found.formulary,
            })
        }
      })
    })
    return new DemoProcess(child, urls, output)
  }

  /** Ctrl-C, as a user stops it; waits for the demo to exit (it stops its relay and devices first). */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = new Promise((r) => this.child.once('exit', r))
    this.child.kill('SIGINT')
    const killed = setTimeout(() => {
      if (this.child.pid !== undefined) process.kill(-this.child.pid, 'SIGKILL')
    }, 15_000)
    await exited
    clearTimeout(killed)
  }
}
