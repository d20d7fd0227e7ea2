import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BenchRow } from './row.js'

/** What test/mesh-bad-link.test.ts writes to BAD_LINK_RESULT (times in ms, bytes through its proxy). */
interface BadLinkResult {
  charts: number
  rttMs: number
  kbit: number
  cutMs: number
  unshapedMs?: number
  unshapedBytes?: number
  shapedMs?: number
  shapedBytes?: number
  cutJoinMs?: number
  beforeCut?: number
  afterCut?: number
  doneAfterLinkBackMs?: number
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/**
 * P17 (issue 17 #5, bad links): the shaped-link scenario has one home, `test/mesh-bad-link.test.ts` (two device
 * processes in network namespaces, a TCP proxy adding 150 ms each way and cutting the link for 30 s, `tc tbf` at
 * 256 kbit/s). The bench runs that file with its unshaped join on (BAD_LINK_BASELINE=1: the same join over the bare
 * veth link, the baseline of the same run) and reads its figures back. Needs root, as the test does.
 */
export async function benchBadLink(): Promise<BenchRow[]> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-bad-link-'))
  try {
    const out = join(dir, 'result.json')
    const vitest = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs') // its bin (the package exports no path to it)
    const args = [vitest, 'run', '--config', '.config/vitest.config.ts', 'test/mesh-bad-link.test.ts']
    const code = await new Promise<number | null>((resolve) => {
      const p = spawn(process.execPath, args, {
        cwd: ROOT,
        stdio: ['ignore', 2, 'inherit'], // its report on the bench's stderr: stdout is for the table
        env: { ...process.env, BAD_LINK_BASELINE: '1', BAD_LINK_RESULT: out },
      })
      p.on('exit', resolve)
    })
    const r = JSON.parse(await readFile(out, 'utf8').catch(() => '{}')) as Partial<BadLinkResult>
    if (r.shapedMs === undefined)
      throw new Error(`the bad-link scenario did not finish (vitest exited ${code})`)
    const link = `${r.rttMs} ms RTT, ${r.kbit} kbit/s`
    const kib = (n = NaN): number => n / 1024
    const rows: BenchRow[] = [
      {
        metric: `P17 a tablet joins ${r.charts} charts over a bad link (${link})`,
        ours: r.shapedMs / 1000,
        baseline: r.unshapedMs === undefined ? null : r.unshapedMs / 1000,
        unit: 's',
        goal: 'completes, one connection',
        ok: true,
        note: `baseline: the same join unshaped (veth) in the same run; ${kib(r.shapedBytes).toFixed(0)} KiB crossed`,
      },
    ]
    if (r.afterCut !== undefined && r.beforeCut !== undefined && r.shapedBytes !== undefined)
      rows.push({
        metric: `P17 bytes after a ${(r.cutMs ?? 0) / 1000} s cut mid-join (resumed, not restarted)`,
        ours: kib(r.afterCut),
        baseline: kib(r.shapedBytes),
        unit: 'KiB',
        goal: '< 70 % of a full join',
        ok: r.afterCut < 0.7 * r.shapedBytes,
        note:
          `baseline: the full shaped join; ${kib(r.beforeCut).toFixed(0)} KiB before the cut; ` +
          `done ${((r.doneAfterLinkBackMs ?? NaN) / 1000).toFixed(1)} s after the link came back` +
          (code === 0 ? '' : `; the test failed (exit ${code}): see its output above`),
      })
    return rows
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
