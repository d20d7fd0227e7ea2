import type { HistoryResult } from './history-case.js'
import type { HistoryJoin } from './history-join-child.js'
import type { BenchRow } from './row.js'
import { runChildJson } from './run-child.js'

const mb = (b: number): number => b / 1e6
const s = (ms: number): number => ms / 1000
const figures = (j: HistoryJoin): string =>
  `${s(j.ms).toFixed(1)} s, ${mb(j.receivedBytes).toFixed(1)} MB received, ${mb(j.diskBytes).toFixed(1)} MB on disk, ${j.archives} archives, peak ${j.peakRssMb.toFixed(0)} MB RSS`

/**
 * P16 (issue 17 #3, history window): a tablet holding one year joins a clinic of `n` charts with five years of closed
 * visits (3 a year), beside a full join of the same clinic in the same run. Two clinics: one archived by the archiving
 * pass (the visits' bytes stay in the chart buckets' history: a join still receives them), one whose past years never
 * entered a bucket (an import straight into the archive). Each join in its own process, over IPC.
 */
export async function benchHistoryWindow(n = 2_000): Promise<BenchRow[]> {
  const r = await runChildJson<HistoryResult>('child.js', ['history', String(n)], `history case ${n}`)
  const clinic = `${n} charts, ${r.visits} visits over 5 years`
  return [
    {
      metric: `P16 1-year tablet joins (archived by the pass), ${clinic}`,
      ours: s(r.archivedWindow.ms),
      baseline: s(r.archivedFull.ms),
      unit: 's',
      goal: 'faster than a full join',
      ok: r.archivedWindow.ms < r.archivedFull.ms,
      note: `baseline: full join of the same clinic; before archiving a full join took ${figures(r.beforeArchiving)}; the pass moved ${r.archived} visits in ${s(r.archiveMs).toFixed(1)} s`,
    },
    {
      metric: `P16 bytes received by that 1-year join`,
      ours: mb(r.archivedWindow.receivedBytes),
      baseline: mb(r.archivedFull.receivedBytes),
      unit: 'MB',
      goal: 'fewer than a full join',
      ok: r.archivedWindow.receivedBytes < r.archivedFull.receivedBytes,
      note: `1-year: ${figures(r.archivedWindow)}; full: ${figures(r.archivedFull)}`,
    },
    {
      metric: `P16 1-year tablet joins (past years imported to the archive), ${clinic}`,
      ours: s(r.importedWindow.ms),
      baseline: s(r.importedFull.ms),
      unit: 's',
      goal: 'faster than a full join',
      ok: r.importedWindow.ms < r.importedFull.ms,
      note: `1-year: ${figures(r.importedWindow)}; full: ${figures(r.importedFull)}`,
    },
    {
      metric: `P16 bytes received by that 1-year join`,
      ours: mb(r.importedWindow.receivedBytes),
      baseline: mb(r.importedFull.receivedBytes),
      unit: 'MB',
      goal: 'fewer than a full join',
      ok: r.importedWindow.receivedBytes < r.importedFull.receivedBytes,
      note: `the same tablet on a clinic whose past visits never passed through a chart bucket`,
    },
  ]
}
