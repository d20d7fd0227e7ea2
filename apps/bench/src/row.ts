/** One line of the bench table: our figure beside a baseline measured in the same run. */
export interface BenchRow {
  metric: string
  ours: number
  baseline: number | null
  unit: string
  goal: string
  ok: boolean
  note?: string
}

function fmt(n: number | null): string {
  if (n === null || Number.isNaN(n)) return '—'
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US')
  if (Math.abs(n) >= 10) return n.toFixed(1)
  return n.toFixed(2)
}

/** ours / baseline: how many times the baseline's figure ours is (for times, < 1 is better). */
export function ratio(row: BenchRow): string {
  if (row.baseline === null || row.baseline === 0) return '—'
  return `${(row.ours / row.baseline).toFixed(2)}×`
}

export function formatTable(rows: BenchRow[]): string {
  const head = ['metric', 'ours', 'baseline', 'unit', 'ratio', 'goal', 'ok', 'note']
  const body = rows.map((r) => [
    r.metric,
    fmt(r.ours),
    fmt(r.baseline),
    r.unit,
    ratio(r),
    r.goal,
    r.ok ? 'yes' : 'NO',
    r.note ?? '',
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)))
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n')
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!
}
