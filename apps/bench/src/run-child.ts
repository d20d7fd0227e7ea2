import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/**
 * Runs a bench script (next to this file, e.g. `child.js`) in a fresh Node process, so its RSS and heap are its own,
 * and resolves with the JSON of its last stdout line.
 */
export function runChildJson<T>(script: string, args: string[], label: string): Promise<T> {
  const file = fileURLToPath(new URL(`./${script}`, import.meta.url))
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    p.stdout.on('data', (d: Buffer) => (out += d.toString()))
    p.stderr.on('data', (d: Buffer) => (err += d.toString()))
    p.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${label} exited ${code}: ${err.slice(-400)}`))
      resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as T)
    })
  })
}
