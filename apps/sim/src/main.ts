/**
 * `npm run sim -- --seeds N [--seed S] [--steps K] [--devices D] [--fault ack-without-persist|diverge-replica]`
 * Runs seeds S..S+N-1 (default S = 1; `--seed S` alone runs just S). A failing seed prints the command that
 * replays it; the process exits non-zero when any seed failed.
 */
import type { SimOptions } from './run-seed.js'
import { runSeed } from './run-seed.js'

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
    console.log(`seeds ${seed - ((k % every) + 0)}..${seed}: ${passed} passed, ${failed} failed so far; ops ${ops}, conflicts ${conflicts}, crashes ${crashes}; ${(ms / ((k % every) + 1)).toFixed(0)} ms/seed`)
    chunkStart = performance.now()
  }
}
console.log(`${passed} passed, ${failed} failed`)
process.exitCode = failed === 0 ? 0 : 1
