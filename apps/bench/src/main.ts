/**
 * `npm run bench [-- --json] [-- --only P1,P4,P5] [-- --only P12 --clinics N [--generators K] [--baseline-clinics M] [--device-storage]] [-- --only P13 --today-charts N] [-- --only P14 --charts N --per-client N] [-- --only P15 --charts N] [-- --only P16 --history-charts N] [-- --only P17] [-- --only P18 --takeover-clinics N [--takeover-past-days D]]`: every figure the issues promise, each beside a baseline
 * measured in the same run. A bench never fails the build: it prints, and exits 0.
 */
import { writeFileSync } from 'node:fs'
import { benchLayout } from './layout-bench.js'
import { benchLedger } from './ledger-bench.js'
import { benchMesh } from './mesh-bench.js'
import { benchLiveEdits, benchPartitionHeal } from './live-bench.js'
import { formatTable, type BenchRow } from './row.js'
import { benchSearch } from './search-bench.js'
import { benchAtRest } from './p6-bench.js'
import { benchGatedNotes } from './gate-bench.js'
import { benchFhirExport } from './fhir-bench.js'
import { benchDiscovery } from './discovery-bench.js'
import { benchColdStart } from './cold-start-bench.js'
import { benchScale } from './scale-bench.js'
import { benchTodayFirst } from './today-bench.js'
import { benchRegistrationDesk } from './regdesk-bench.js'
import { benchBulkImport } from './import-bench.js'
import { benchHistoryWindow } from './history-bench.js'
import { benchBadLink } from './bad-link-bench.js'
import { benchTakeover } from './takeover-bench.js'

const args = process.argv.slice(2)
const json = args.includes('--json')
const onlyArg = args[args.indexOf('--only') + 1]
const only = args.includes('--only') && onlyArg ? new Set(onlyArg.split(',')) : null
const want = (k: string): boolean => !only || only.has(k)
const flag = (name: string, dflt: number): number =>
  args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt

const suites: [string, () => Promise<BenchRow[]> | BenchRow[]][] = [
  ['P5', () => benchSearch()],
  ['P4', () => benchLedger()],
  ['P1', () => benchLayout()],
  ['P2', () => benchLiveEdits()],
  ['P3', () => benchPartitionHeal()],
  ['P7', () => benchMesh()],
  ['P6', () => benchAtRest()],
  ['P8', () => benchGatedNotes()],
  ['P9', () => benchFhirExport()],
  ['P10', () => benchDiscovery()],
  ['P11', () => benchColdStart()],
  ['P13', () => benchTodayFirst(flag('--today-charts', 10_000))],
  ['P16', () => benchHistoryWindow(flag('--history-charts', 2_000))],
  ['P14', () => benchRegistrationDesk(flag('--charts', 10_000), flag('--per-client', 150))],
  ['P15', () => benchBulkImport(flag('--charts', 10_000))],
  ['P17', () => benchBadLink()],
  ['P18', () => benchTakeover(flag('--takeover-clinics', 50), flag('--takeover-past-days', 0))],
  [
    'P12',
    () =>
      benchScale({
        clinics: flag('--clinics', 50),
        opIntervalMs: flag('--op-interval-ms', 10_000),
        // the first interval is the ramp: two intervals at least (30 s at the default 10 s)
        steadyS: flag('--steady-s', Math.max(30, (2 * flag('--op-interval-ms', 10_000)) / 1000)),
        afterS: flag('--after-s', 20),
        spread: args.includes('--spread-by-clinic') ? 'clinic' : 'device',
        deviceStorage: args.includes('--device-storage'),
        ...(args.includes('--generators') ? { generators: flag('--generators', 1) } : {}),
        ...(args.includes('--baseline-clinics') ? { baselineClinics: flag('--baseline-clinics', 0) } : {}),
      }),
  ],
]

const rows: BenchRow[] = []
for (const [key, run] of suites) {
  if (!want(key)) continue
  try {
    const got = await run()
    rows.push(...got)
    console.error(formatTable(got) + '\n')
  } catch (err) {
    rows.push({
      metric: `${key} failed`,
      ours: NaN,
      baseline: null,
      unit: '',
      goal: '',
      ok: false,
      note: String(err).slice(0, 200),
    })
  }
}
console.log('\n' + formatTable(rows))
if (json) {
  writeFileSync('bench-results.json', JSON.stringify(rows, null, 2))
  console.log('\nwrote bench-results.json')
}
// children and sockets of a suite that failed half-way must not keep the bench alive after its table
process.exit(0)
