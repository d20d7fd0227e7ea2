/** Runs one bench case in this (fresh) process and prints its result as JSON on stdout. */
import { runJoinOnly, runOurs, runPerDoc } from './layout-case.js'
import { runPouch } from './pouch-case.js'
import { runToday } from './today-case.js'
import { runHistory } from './history-case.js'

const [kind, count] = process.argv.slice(2)
const n = Number(count ?? '10000')
const cases: Record<string, (n: number) => Promise<unknown>> = {
  ours: runOurs,
  join: runJoinOnly,
  perdoc: runPerDoc,
  pouch: runPouch,
  today: runToday,
  'today-64': (n) => runToday(n, 'old'),
  history: runHistory,
}
const run = kind ? cases[kind] : undefined
if (!run) {
  console.error(`usage: child.js <${Object.keys(cases).join('|')}> <count>`)
  process.exit(2)
}
process.stdout.write(JSON.stringify(await run(n)) + '\n')
process.exit(0)
