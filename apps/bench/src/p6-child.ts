/** Runs one P6 case (`plain` | `encrypted`, chart count) in this fresh process; prints the result as JSON. */
import { runAtRest } from './p6-case.js'

const [kind, count] = process.argv.slice(2)
if (kind !== 'plain' && kind !== 'encrypted') {
  console.error('usage: p6-child.js <plain|encrypted> <count>')
  process.exit(2)
}
process.stdout.write(JSON.stringify(await runAtRest(kind, Number(count ?? '10000'))) + '\n')
process.exit(0)
