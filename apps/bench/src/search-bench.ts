import { PatientIndex, normalize, type PatientSummary } from '@clinic-mesh/store'
import { patientAt, rng } from './fixtures.js'
import { median, percentile, type BenchRow } from './row.js'

function summaries(n: number): PatientSummary[] {
  const out: PatientSummary[] = []
  for (let i = 0; i < n; i++) {
    const p = patientAt(i)
    out.push({
      id: p.id,
      given: p.given,
      family: p.family,
      birthDate: p.birthDate,
      sex: p.sex,
      identifiers: [`national-id|${p.nid}`],
      updatedAt: '',
    })
  }
  return out
}

function queries(n: number, count: number): string[] {
  const r = rng(7)
  const qs: string[] = []
  for (let i = 0; i < count; i++) {
    const p = patientAt(Math.floor(r() * n))
    const k = i % 4
    qs.push(
      k === 0
        ? p.nid
        : k === 1
          ? p.family.slice(0, 3)
          : k === 2
            ? `${p.given.slice(0, 2)} ${p.family.slice(0, 4)}`
            : p.given,
    )
  }
  return qs
}

/** Baseline: what a plain list does — normalise and test every summary. */
function scan(all: PatientSummary[], q: string, limit: number): PatientSummary[] {
  const nq = normalize(q)
  const parts = nq.split(/\s+/)
  const out: PatientSummary[] = []
  for (const s of all) {
    const name = normalize(`${s.given} ${s.family}`).split(/\s+/)
    const idHit = s.identifiers.some((i) => normalize(i).endsWith(nq))
    if (idHit || parts.every((p) => name.some((t) => t.startsWith(p)))) out.push(s)
  }
  return out.slice(0, limit)
}

function p95Of(fn: (q: string) => unknown, qs: string[]): number {
  const times: number[] = []
  for (const q of qs) {
    const t = performance.now()
    fn(q)
    times.push(performance.now() - t)
  }
  return percentile(times, 95)
}

/** P5: patient search over 100,000 summaries, p95 per query; median of `runs` runs. */
export function benchSearch(n = 100_000, runs = 3): BenchRow[] {
  const all = summaries(n)
  const index = new PatientIndex()
  const t = performance.now()
  for (const s of all) index.upsert(s)
  index.search('warm-up')
  const buildMs = performance.now() - t
  const qs = queries(n, 1000)
  const ours: number[] = []
  const base: number[] = []
  for (let r = 0; r < runs; r++) {
    ours.push(p95Of((q) => index.search(q), qs))
    base.push(p95Of((q) => scan(all, q, 20), qs.slice(0, 200)))
  }
  const p95 = median(ours)
  return [
    {
      metric: 'P5 search p95, 100k patients',
      ours: p95,
      baseline: median(base),
      unit: 'ms',
      goal: '≤ 20 ms',
      ok: p95 <= 20,
      note: 'baseline: linear scan',
    },
    {
      metric: 'P5 index build, 100k patients',
      ours: buildMs,
      baseline: null,
      unit: 'ms',
      goal: 'info',
      ok: true,
    },
  ]
}
