import type { ChildProcess } from 'node:child_process'

/** A relay (or device) process the demo started, with its `{"event":"listening"}` line. */
export interface Launched {
  child: ChildProcess
  line: Record<string, unknown>
}

export interface DemoRelays {
  /** `ws://127.0.0.1:PORT` of each instance, in start order */
  readonly urls: string[]
  /** the throwaway cluster's `stop()` (nothing when the operator gave a URL) */
  readonly stopDatabase: () => Promise<void>
}

/**
 * `clinic-mesh demo --relays N [--postgres URL]`: N relay instances over one PostgreSQL — the operator's URL, or a
 * throwaway cluster (`initdb` + `pg_ctl` in a temp dir, Debian's PostgreSQL 15 or $CLINIC_MESH_PG_BIN) removed when
 * the demo stops. Prints each instance's URL and pid.
 */
export async function startDemoRelays(
  n: number,
  postgres: string | undefined,
  relayMain: string,
  launch: (label: string, args: string[]) => Promise<Launched>,
  children: ChildProcess[],
): Promise<DemoRelays> {
  let url = postgres
  let stopDatabase = (): Promise<void> => Promise.resolve()
  if (!url) {
    // the test kit's throwaway cluster, loaded only here (its subpath does not pull in a test runner)
    const { startPostgresCluster } = await import('@clinic-mesh/testing/postgres-cluster')
    const cluster = await startPostgresCluster()
    url = cluster.url
    stopDatabase = () => cluster.stop()
    process.stdout.write(`postgres         ${url} (throwaway, removed when the demo stops)\n`)
  }
  const urls: string[] = []
  for (let i = 1; i <= n; i++) {
    const r = await launch(`relay-${i}`, [relayMain, '--postgres', url, '--port', '0'])
    children.push(r.child)
    const wsUrl = `ws://127.0.0.1:${String(r.line.port)}`
    urls.push(wsUrl)
    process.stdout.write(`relay-${i}          ${wsUrl.replace('ws', 'http')}/  pid ${String(r.child.pid)}\n`)
  }
  return { urls, stopDatabase }
}

/**
 * Which relay URLs each demo device gets: device 1 the first instance, the others the second (then the rest), each
 * followed by the remaining instances to fail over to.
 */
export function relayListFor(device: number, urls: readonly string[]): string {
  const first = device === 0 ? 0 : Math.min(1, urls.length - 1)
  return [urls[first]!, ...urls.filter((_, i) => i !== first)].join(',')
}
