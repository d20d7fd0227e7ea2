import { execFile, execFileSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { access, appendFile, chown, mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PostgresUnavailableError } from './errors.js'

export interface PostgresClusterOptions {
  /** directory of initdb and pg_ctl (default: $CLINIC_MESH_PG_BIN, else Debian's /usr/lib/postgresql/15/bin) */
  binDir?: string
}

export interface PostgresCluster {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (trust authentication, TCP on loopback only) */
  readonly url: string
  readonly port: number
  /** the cluster's temp dir: `data/` (PGDATA), `server.log`, the unix socket */
  readonly dir: string
  /** `pg_ctl stop -m immediate`, then removes the temp dir; a second call does nothing */
  stop(): Promise<void>
}

const DEFAULT_BIN = '/usr/lib/postgresql/15/bin'
const START_ATTEMPTS = 3

interface RunAs {
  uid: number
  gid: number
}

/**
 * A throwaway PostgreSQL cluster for tests: `initdb` + `pg_ctl` in a fresh temp dir on a random free port, fsync off.
 * Run as root (as the tests are here), the server runs as the `postgres` user (PostgreSQL refuses root). Throws
 * `PostgresUnavailableError` with the tools' output when PostgreSQL is missing or does not start: never skip on it.
 */
export async function startPostgresCluster(options: PostgresClusterOptions = {}): Promise<PostgresCluster> {
  const binDir = options.binDir ?? process.env['CLINIC_MESH_PG_BIN'] ?? DEFAULT_BIN
  const initdb = join(binDir, 'initdb')
  const pgCtl = join(binDir, 'pg_ctl')
  try {
    await access(initdb)
    await access(pgCtl)
  } catch (cause) {
    throw new PostgresUnavailableError(
      `PostgreSQL not found: no initdb/pg_ctl in ${binDir} (Debian: apt-get install postgresql-15, or set CLINIC_MESH_PG_BIN)`,
      '',
      { cause },
    )
  }
  const runAs = process.getuid?.() === 0 ? await postgresUser() : undefined
  const dir = await mkdtemp(join(tmpdir(), 'clinic-mesh-pg-'))
  const data = join(dir, 'data')
  const log = join(dir, 'server.log')
  let stopped = false
  const stopSync = (): void => {
    if (stopped) return
    stopped = true
    try {
      execFileSync(pgCtl, ['stop', '-D', data, '-m', 'immediate', '-w'], {
        ...spawnAs(runAs, dir),
        stdio: 'ignore',
      })
    } catch {
      // the server was not running: nothing to stop
    }
  }
  // a test process that dies without stop(): the server goes and the dir with it
  const onExit = (): void => {
    stopSync()
    rmSync(dir, { recursive: true, force: true })
  }
  const remove = async (): Promise<void> => {
    process.off('exit', onExit)
    await rm(dir, { recursive: true, force: true })
  }
  try {
    if (runAs) await chown(dir, runAs.uid, runAs.gid)
    const init = await run(
      initdb,
      ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'],
      runAs,
      dir,
    )
    if (init.failed) throw new PostgresUnavailableError(`initdb failed in ${dir}`, init.output)
    await appendFile(
      join(data, 'postgresql.conf'),
      [
        '',
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${dir}'`,
        'fsync = off',
        'synchronous_commit = off',
        'full_page_writes = off',
        'max_connections = 200',
        '',
      ].join('\n'),
    )
    process.on('exit', onExit)
    let output = ''
    for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
      const port = await freePort()
      const start = await run(
        pgCtl,
        ['start', '-D', data, '-l', log, '-w', '-t', '60', '-o', `-p ${port}`],
        runAs,
        dir,
      )
      if (!start.failed) {
        return {
          url: `postgres://postgres@127.0.0.1:${port}/postgres`,
          port,
          dir,
          stop: async () => {
            if (!stopped) {
              stopped = true
              await run(pgCtl, ['stop', '-D', data, '-m', 'immediate', '-w'], runAs, dir)
            }
            await remove()
          },
        }
      }
      // most likely the port was taken between freePort() and the bind: try another one
      output += `attempt ${attempt} on port ${port}:\n${start.output}\n${await readLog(log)}\n`
    }
    throw new PostgresUnavailableError(`pg_ctl could not start PostgreSQL in ${dir}`, output)
  } catch (error) {
    stopSync()
    await remove()
    throw error
  }
}

async function postgresUser(): Promise<RunAs> {
  const id = async (flag: string): Promise<number> => {
    const result = await run('id', [flag, 'postgres'], undefined, tmpdir())
    const value = Number(result.output.trim())
    if (result.failed || !Number.isInteger(value)) {
      throw new PostgresUnavailableError(
        'running as root, and there is no `postgres` user to run the server as',
        result.output,
      )
    }
    return value
  }
  return { uid: await id('-u'), gid: await id('-g') }
}

const spawnAs = (runAs: RunAs | undefined, cwd: string): { cwd: string; uid?: number; gid?: number } =>
  runAs ? { cwd, uid: runAs.uid, gid: runAs.gid } : { cwd }

function run(
  file: string,
  args: string[],
  runAs: RunAs | undefined,
  cwd: string,
): Promise<{ failed: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { ...spawnAs(runAs, cwd), timeout: 90_000 }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}${error && !stdout && !stderr ? error.message : ''}`
      resolve({ failed: error !== null, output })
    })
  })
}

async function readLog(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch {
    return '(no server log)'
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}
