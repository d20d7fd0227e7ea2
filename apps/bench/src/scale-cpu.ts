import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'

/** Linux clock ticks per second (`getconf CLK_TCK`: 100 on every kernel this runs on). */
const TICKS_PER_S = 100

/** utime, stime, cutime, cstime of a process in ms (`/proc/PID/stat`); 0 once it is gone. */
async function ticksOf(pid: number): Promise<{ own: number; children: number; ppid: number }> {
  try {
    const s = await readFile(`/proc/${pid}/stat`, 'utf8')
    // fields after the command name (which may hold spaces and parentheses): state is field 3
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
    const n = (i: number): number => (Number(f[i - 3]) * 1000) / TICKS_PER_S
    return { own: n(14) + n(15), children: n(16) + n(17), ppid: Number(f[1]) }
  } catch {
    return { own: 0, children: 0, ppid: 0 }
  }
}

/** CPU time (user + system, ms) one process used so far. */
export async function processCpuMs(pid: number): Promise<number> {
  return (await ticksOf(pid)).own
}

/**
 * CPU time (ms) a PostgreSQL cluster used so far: the postmaster (its `postmaster.pid` in `dataDir`), the backends
 * it reaped (its children's times) and those still running.
 */
export async function clusterCpuMs(dataDir: string): Promise<number> {
  const pm = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0])
  const root = await ticksOf(pm)
  let live = 0
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const t = await ticksOf(Number(name))
    if (t.ppid === pm) live += t.own
  }
  return root.own + root.children + live
}
