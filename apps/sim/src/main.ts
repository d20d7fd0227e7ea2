/**
 * `npm run sim -- --seeds N [--seed S] [--steps K] [--devices D] [--fault ack-without-persist|diverge-replica] [--jobs J]`
 * Runs seeds S..S+N-1 (default S = 1; `--seed S` alone runs just S). A failing seed prints the command that
 * replays it; the process exits non-zero when any seed failed. More than BATCH seeds run in child processes of
 * BATCH seeds each (`--jobs` at a time): Automerge's WebAssembly memory only grows within a process, and 500+ seeds
 * in one process ran it out (a panic in `save`), so each batch starts with a fresh heap.
 */
import { spawn } from 'node:child_process'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SimOptions } from './run-seed.js'
import { runSeed } from './run-seed.js'

const BATCH = 100

interface Summary {
  passed: number
  failed: number
  ops: number
  conflicts: number
  crashes: number
}

const args = process.argv.slice(2)
function flag(name: string): string | undefined {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
function int(name: string, fallback: number): number {
  const v = flag(name)
  const n = v === undefined ? fallback : Number(v)
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} needs a non-negative integer, got ${v}`)
  return n
}

const seeds = int('seeds', flag('seed') === undefined ? 100 : 1)
const first = int('seed', 1)
const fault = flag('fault') as SimOptions['fault']
const options: SimOptions = {
  ...(flag('steps') ? { steps: int('steps', 400) } : {}),
  ...(flag('devices') ? { devices: int('devices', 4) } : {}),
  ...(fault ? { fault } : {}),
}
const extra = ['steps', 'devices', 'fault'].map((f) => (flag(f) ? ` --${f} ${flag(f)}` : '')).join('')
const every = Math.max(1, Math.min(100, Math.ceil(seeds / 10)))
const summaryFile = flag('summary-file')

/** One batch in a child process; resolves with its summary (its progress lines go straight to our stdout). */
function runBatch(start: number, count: number): Promise<Summary> {
  const file = join(tmpdir(), `clinic-mesh-sim-${process.pid}-${start}.json`)
  const child = spawn(
    process.execPath,
    [
      process.argv[1] ?? '',
      '--seed',
      String(start),
      '--seeds',
      String(count),
      ...extra.trim().split(' ').filter(Boolean),
      '--summary-file',
      file,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  )
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', () => {
      readFile(file, 'utf8').then(
        (t) => {
          void rm(file, { force: true })
          resolve(JSON.parse(t) as Summary)
        },
        () => resolve({ passed: 0, failed: count, ops: 0, conflicts: 0, crashes: 0 }), // the batch died: count it failed
      )
    })
  })
}

if (seeds > BATCH && summaryFile === undefined) {
  const jobs = Math.max(1, int('jobs', 1))
  const starts: number[] = []
  for (let s = first; s < first + seeds; s += BATCH) starts.push(s)
  const total: Summary = { passed: 0, failed: 0, ops: 0, conflicts: 0, crashes: 0 }
  const worker = async (): Promise<void> => {
    for (let s = starts.shift(); s !== undefined; s = starts.shift()) {
      const r = await runBatch(s, Math.min(BATCH, first + seeds - s))
      for (const k of Object.keys(total) as (keyof Summary)[]) total[k] += r[k]
    }
  }
  await Promise.all(Array.from({ length: jobs }, () => worker()))
  console.log(
    `${total.passed} passed, ${total.failed} failed; ops ${total.ops}, conflicts ${total.conflicts}, crashes ${total.crashes}`,
  )
  process.exit(total.failed === 0 && total.passed === seeds ? 0 : 1)
}

let passed = 0
let failed = 0
let ops = 0
let conflicts = 0
let crashes = 0
let chunkStart = performance.now()
for (let k = 0; k < seeds; k++) {
  const seed = first + k
  const res = runSeed(seed, options)
  ops += res.stats.ops
  conflicts += res.stats.conflicts
  crashes += res.stats.crashes
  if (res.ok) passed++
  else {
    failed++
    console.log(`seed ${seed} FAILED (${res.violations.length} violations)`)
    for (const v of res.violations.slice(0, 5)) console.log(`  ${v.kind}: ${v.detail}`)
    console.log(`  replay: npm run sim -- --seed ${seed}${extra}`)
  }
  if ((k + 1) % every === 0 || k + 1 === seeds) {
    const ms = performance.now() - chunkStart
    console.log(
      `seeds ${seed - ((k % every) + 0)}..${seed}: ${passed} passed, ${failed} failed so far; ops ${ops}, conflicts ${conflicts}, crashes ${crashes}; ${(ms / ((k % every) + 1)).toFixed(0)} ms/seed`,
    )
    chunkStart = performance.now()
  }
}
console.log(`${passed} passed, ${failed} failed`)
if (summaryFile) {
  await writeFile(summaryFile, JSON.stringify({ passed, failed, ops, conflicts, crashes } satisfies Summary))
}
process.exitCode = failed === 0 ? 0 : 1
