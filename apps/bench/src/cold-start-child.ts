/**
 * One P11 process: `make DIR N TODAY` writes the clinic and prints its root URL; `run DIR ROOT MODE` opens it as a
 * restarting device node and prints the measurement (JSON, last line).
 */
import type { AutomergeUrl } from '@automerge/automerge-repo'
import { COLD_START_MODES, coldStart, makeColdStartClinic } from './cold-start-case.js'

const [cmd, dir, a, b] = process.argv.slice(2)
if (cmd === 'make' && dir) {
  const t = performance.now()
  const root = await makeColdStartClinic(dir, Number(a ?? '10000'), Number(b ?? '40'))
  process.stdout.write(JSON.stringify({ root, makeMs: performance.now() - t }) + '\n')
} else if (cmd === 'run' && dir && a && b) {
  const mode = COLD_START_MODES.find((m) => m === b)
  if (!mode) throw new Error(`unknown mode ${b}`)
  process.stdout.write(JSON.stringify(await coldStart(dir, a as AutomergeUrl, mode)) + '\n')
} else {
  console.error(`usage: cold-start-child.js make DIR N TODAY | run DIR ROOT ${COLD_START_MODES.join('|')}`)
  process.exit(2)
}
process.exit(0)
