import { runChildJson } from './run-child.js'
import type { AtRestKind, AtRestResult } from './p6-case.js'
import { median, type BenchRow } from './row.js'

function runChild(kind: AtRestKind, n: number): Promise<AtRestResult> {
  return runChildJson<AtRestResult>('p6-child.js', [kind, String(n)], `P6 ${kind} ${n}`)
}

/**
 * P6: what encryption at rest costs on P1 (a new device joins a clinic of `n` charts), the joining repo on disk
 * plain vs under EncryptedStorageAdapter, each run in a fresh process, alternating plain/encrypted `rounds` times
 * (medians). Goal: ≤ 15 % on the join.
 */
export async function benchAtRest(n = 10_000, rounds = 2): Promise<BenchRow[]> {
  const plain: AtRestResult[] = []
  const enc: AtRestResult[] = []
  const note = (r: AtRestResult): void =>
    console.error(
      `P6 ${r.kind}: join ${(r.joinMs / 1000).toFixed(2)} s, reopen ${(r.reopenMs / 1000).toFixed(2)} s, ${(r.bytesOnDisk / 1e6).toFixed(1)} MB`,
    )
  for (let i = 0; i < rounds; i++) {
    plain.push(await runChild('plain', n))
    note(plain.at(-1)!)
    enc.push(await runChild('encrypted', n))
    note(enc.at(-1)!)
  }
  const m = (rs: AtRestResult[], k: 'joinMs' | 'reopenMs'): number => median(rs.map((r) => r[k])) / 1000
  const over = (o: number, b: number): string => `${(((o - b) / b) * 100).toFixed(1)} % over plain`
  const join = { ours: m(enc, 'joinMs'), base: m(plain, 'joinMs') }
  const reopen = { ours: m(enc, 'reopenMs'), base: m(plain, 'reopenMs') }
  const runs = (rs: AtRestResult[], k: 'joinMs' | 'reopenMs'): string =>
    rs.map((r) => (r[k] / 1000).toFixed(2)).join('/')
  return [
    {
      metric: `P6 encryption-at-rest cost on P1 (join, ${n} charts, on disk)`,
      ours: join.ours,
      baseline: join.base,
      unit: 's',
      goal: '≤ 15 %',
      ok: join.ours <= join.base * 1.15,
      note: `${over(join.ours, join.base)}; median of ${rounds} (enc ${runs(enc, 'joinMs')} s, plain ${runs(plain, 'joinMs')} s); baseline: plain NodeFS`,
    },
    {
      metric: `P6 cold reopen from disk, ${n} charts`,
      ours: reopen.ours,
      baseline: reopen.base,
      unit: 's',
      goal: '≤ 15 %',
      ok: reopen.ours <= reopen.base * 1.15,
      note: `${over(reopen.ours, reopen.base)}; baseline: plain NodeFS`,
    },
    {
      metric: `P6 bytes on disk, ${n} charts`,
      ours: (enc[0]?.bytesOnDisk ?? NaN) / 1e6,
      baseline: (plain[0]?.bytesOnDisk ?? NaN) / 1e6,
      unit: 'MB',
      goal: '—',
      ok: true,
      note: `${enc[0]?.files ?? 0} files; 33 B per chunk (header, IV, tag)`,
    },
  ]
}
