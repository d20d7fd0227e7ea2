import { spawn, type ChildProcess } from 'node:child_process'
import { request } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const MAIN = fileURLToPath(new URL('../../apps/device/dist/main.js', import.meta.url))

export interface DeviceReply<T = Record<string, unknown>> {
  status: number
  body: T
}

export interface DeviceStart {
  dataDir: string
  name: string
  /** The clinic file to join through (omit when `args` enrol another way, e.g. `--join URL --join-code CODE`). */
  clinicFile?: string
  /** create the clinic (first device) */
  initClinic?: string
  relay?: string
  port?: number
  /**
   * Device unlock secret, handed over in CLINIC_MESH_DEVICE_SECRET (storage is encrypted at rest). Default: one
   * derived from the data dir, so a restart opens the same data. `null`: no secret at all (tests of the refusal).
   */
  secret?: string | null
  /** Extra command-line arguments (e.g. `--plain-storage`, `--secret-file PATH`). */
  args?: string[]
  /** Extra environment variables for the device process. */
  env?: Record<string, string>
  /**
   * A command the device runs under, e.g. `['ip', 'netns', 'exec', NS]` (a device in a network namespace). Its HTTP
   * API (127.0.0.1 inside) is then reached through a forwarder run under the same wrapper, on the Unix socket
   * `httpSocket` (the filesystem is shared across network namespaces).
   */
  wrapper?: { command: string[]; httpSocket: string }
  /** `--mesh-listen` (default '/ip4/127.0.0.1/tcp/0') and `--mdns-interval` (default 250) */
  meshListen?: string
  mdnsIntervalMs?: number
}

/** Forwards connections on a Unix socket (argv[1]) to 127.0.0.1:argv[2]; prints `ready` once listening. */
const FORWARDER = `
const net = require('node:net'); const fs = require('node:fs')
const [sock, port] = process.argv.slice(1)
try { fs.unlinkSync(sock) } catch {}
net.createServer((c) => {
  const u = net.connect(Number(port), '127.0.0.1'); c.pipe(u); u.pipe(c)
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy())
}).listen(sock, () => console.log('ready'))
`

/** The founder's first admin password in tests (CLINIC_MESH_ADMIN_PASSWORD). */
export const TEST_ADMIN_PASSWORD = 'test-admin-password'
/** The password the helper gives a user it creates on demand. */
export const testPassword = (name: string): string => `pw-${name}-test`

/** Who a helper request acts as: a user of that name and role, created on demand by the admin. */
export interface ActAs {
  name: string
  role: string
}

/** The default test secret of a data dir (tests only: a real device never derives its secret from a path). */
export const testSecret = (dataDir: string): string => `test-secret:${dataDir}`

/** Polls an async check until it yields a truthy value; throws after the deadline. Returns the value. */
export async function pollDevice<T>(
  check: () => Promise<T | undefined | null | false>,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let delay = 10
  for (;;) {
    const v = await check().catch(() => undefined)
    if (v) return v
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms: ${what}`)
    await new Promise((r) => setTimeout(r, delay))
    delay = Math.min(delay * 2, 100)
  }
}

const RECENT_LOG_LINES = 300

/** A device node (`node apps/device/dist/main.js device ...`) as a real child process on loopback. */
export class DeviceProcess {
  readonly child: ChildProcess
  readonly port: number
  /** libp2p multiaddrs from the node's `listening` line (hostile mesh tests dial them). */
  mesh: string[] = []
  readonly init: DeviceStart
  readonly stderr: string[]
  /** The node's last stdout lines (its JSON log), for a failing test to print; bounded. */
  readonly recentLog: string[]
  readonly #exit: Promise<number | null>
  /** the HTTP forwarder of a wrapped device (see `DeviceStart.wrapper`) */
  forwarder: ChildProcess | undefined

  private constructor(
    child: ChildProcess,
    port: number,
    init: DeviceStart,
    stderr: string[],
    exit: Promise<number | null>,
    recentLog: string[],
  ) {
    this.child = child
    this.port = port
    this.init = init
    this.stderr = stderr
    this.recentLog = recentLog
    this.#exit = exit
  }

  static async start(init: DeviceStart): Promise<DeviceProcess> {
    const args = [
      MAIN,
      'device',
      '--data',
      init.dataDir,
      '--name',
      init.name,
      ...(init.clinicFile ? ['--clinic-file', init.clinicFile] : []),
      '--port',
      String(init.port ?? 0),
    ]
    args.push(
      '--mesh-listen',
      init.meshListen ?? '/ip4/127.0.0.1/tcp/0',
      '--mdns-interval',
      String(init.mdnsIntervalMs ?? 250),
    )
    if (init.initClinic) args.push('--init-clinic', init.initClinic)
    if (init.relay) args.push('--relay', init.relay)
    if (init.args) args.push(...init.args)
    // tests enrol their devices through one shared clinic file holding the clinic secret and admin key (a launcher's
    // choice); a test of the field setup passes CLINIC_MESH_SHARED_CLINIC_FILE: '0' and enrols by join code
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CLINIC_MESH_ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
      CLINIC_MESH_SHARED_CLINIC_FILE: '1',
      ...init.env,
    }
    delete env.CLINIC_MESH_DEVICE_SECRET
    const secret = init.secret === undefined ? testSecret(init.dataDir) : init.secret
    const plain =
      init.args?.includes('--plain-storage') === true || init.args?.includes('--secret-file') === true
    if (secret !== null && !plain) env.CLINIC_MESH_DEVICE_SECRET = secret
    const [cmd, ...pre] = init.wrapper ? [...init.wrapper.command, process.execPath] : [process.execPath]
    const child = spawn(cmd ?? process.execPath, [...pre, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    })
    const stderr: string[] = []
    createInterface({ input: child.stderr }).on('line', (l) => stderr.push(l))
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    const lines = createInterface({ input: child.stdout })
    const recentLog: string[] = []
    lines.on('line', (l) => {
      recentLog.push(l)
      if (recentLog.length > RECENT_LOG_LINES) recentLog.shift()
    })
    let mesh: string[] = []
    const port = await new Promise<number>((resolve, reject) => {
      // a start that times out is killed (not left running after the test); CLINIC_MESH_TEST_START_MS for a loaded machine
      const timer = setTimeout(
        () => {
          child.kill('SIGKILL')
          reject(new Error(`device ${init.name} did not start: ${stderr.join('\n')}`))
        },
        Number(process.env.CLINIC_MESH_TEST_START_MS ?? 60_000),
      )
      lines.on('line', (l) => {
        try {
          const ev = JSON.parse(l) as { event?: string; http?: number; mesh?: string[] }
          if (ev.event === 'listening' && typeof ev.http === 'number') {
            mesh = ev.mesh ?? []
            clearTimeout(timer)
            resolve(ev.http)
          }
        } catch {
          // not a JSON line
        }
      })
      void exit.then((code) => {
        clearTimeout(timer)
        reject(new Error(`device ${init.name} exited with ${code}: ${stderr.join('\n')}`))
      })
    })
    const started = new DeviceProcess(child, port, init, stderr, exit, recentLog)
    started.mesh = mesh
    if (init.wrapper) started.forwarder = await startForwarder(init.wrapper, port)
    return started
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null
  }

  /** Waits until the clinic is open on this device (directory, records index and ledger loaded). */
  async ready(timeoutMs = 20_000): Promise<void> {
    await pollDevice(
      async () => (await this.api<{ clinic: { ready: boolean } }>('GET', '/api/status')).body.clinic.ready,
      `${this.init.name} ready`,
      timeoutMs,
    )
  }

  readonly #tokens = new Map<string, Promise<string>>()

  /**
   * A JSON API call as a logged-in user: `as` (or the `x-user`/`x-role` headers) names the user, created on demand
   * by the clinic admin; default a pharmacist for /api/stock, a clinician otherwise. `as: null` sends no session at all.
   */
  async api<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    opts: { raw?: string | Uint8Array; headers?: Record<string, string>; as?: ActAs | null } = {},
  ): Promise<DeviceReply<T>> {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers }
    const open = path === '/api/status' || path === '/api/login'
    if (opts.as !== null && !open) {
      // by default: stock as a pharmacist, everything else (patients, encounters) as a clinician
      const role = headers['x-role'] ?? (path.startsWith('/api/stock') ? 'pharmacist' : 'clinician')
      const as = opts.as ?? { name: headers['x-user'] ?? `test-${role}`, role }
      headers.authorization = `Bearer ${await this.token(as)}`
    }
    return this.#fetch<T>(method, path, body, opts.raw, headers)
  }

  async #fetch<T>(
    method: string,
    path: string,
    body: unknown,
    raw: string | Uint8Array | undefined,
    headers: Record<string, string>,
  ): Promise<DeviceReply<T>> {
    const payload = raw !== undefined ? raw : body !== undefined ? JSON.stringify(body) : undefined
    if (this.init.wrapper)
      return viaSocket<T>(this.init.wrapper.httpSocket, this.port, method, path, headers, payload)
    const init: RequestInit = { method, headers }
    if (payload !== undefined) init.body = payload
    const res = await fetch(`http://127.0.0.1:${this.port}${path}`, init)
    return { status: res.status, body: (await res.json()) as T }
  }

  /** A session token for `as` on this device (the user is created through the admin if missing). */
  token(as: ActAs): Promise<string> {
    const key = `${as.name}\u0000${as.role}`
    let t = this.#tokens.get(key)
    if (!t) {
      t = this.#login(as)
      this.#tokens.set(key, t)
      t.catch(() => this.#tokens.delete(key))
    }
    return t
  }

  async #login(as: ActAs): Promise<string> {
    const json = { 'content-type': 'application/json' }
    const login = async (user: string, password: string): Promise<string | undefined> => {
      const r = await this.#fetch<{ token?: string }>(
        'POST',
        '/api/login',
        { user, password },
        undefined,
        json,
      )
      return r.status === 200 ? r.body.token : undefined
    }
    if (as.name === 'admin')
      return pollDevice(() => login('admin', TEST_ADMIN_PASSWORD), `${this.init.name}: admin login`, 20_000)
    const admin = await this.token({ name: 'admin', role: 'admin' })
    const created = await this.#fetch<{ error?: { name: string } }>(
      'POST',
      '/api/users',
      { name: as.name, role: as.role, password: testPassword(as.name) },
      undefined,
      { ...json, authorization: `Bearer ${admin}` },
    )
    if (created.status !== 201 && created.body.error?.name !== 'UserExistsError')
      throw new Error(`cannot create user ${as.name} (${as.role}): ${JSON.stringify(created.body)}`)
    return pollDevice(
      () => login(as.name, testPassword(as.name)),
      `${this.init.name}: login ${as.name}`,
      20_000,
    )
  }

  /** Sends a signal and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    this.forwarder?.kill('SIGKILL')
    if (!this.exited) this.child.kill(signal)
    return this.#exit
  }

  /** Starts the same device again (same data dir and clinic file, new port unless given). */
  restart(): Promise<DeviceProcess> {
    const { initClinic: _created, ...again } = this.init
    return DeviceProcess.start(again)
  }
}

async function startForwarder(
  wrapper: NonNullable<DeviceStart['wrapper']>,
  port: number,
): Promise<ChildProcess> {
  const [cmd, ...pre] = [...wrapper.command, process.execPath]
  const child = spawn(cmd ?? process.execPath, [...pre, '-e', FORWARDER, wrapper.httpSocket, String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', () => resolve())
    child.once('exit', (code) => reject(new Error(`HTTP forwarder exited with ${code}`)))
  })
  return child
}

/** One HTTP request over a Unix socket (a wrapped device's forwarder). */
function viaSocket<T>(
  socketPath: string,
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  payload: string | Uint8Array | undefined,
): Promise<DeviceReply<T>> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath, method, path, headers: { ...headers, host: `127.0.0.1:${port}` } },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) as T })
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)))
          }
        })
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(payload)
  })
}

/** A temp dir with a clinic: the first device creates it; the others join through the clinic file. */
export class DeviceCluster {
  readonly root: string
  readonly devices: DeviceProcess[] = []

  private constructor(root: string) {
    this.root = root
  }

  static async start(
    names: string[],
    opts: { relay?: string; env?: Record<string, string> } = {},
  ): Promise<DeviceCluster> {
    const cluster = new DeviceCluster(await mkdtemp(join(tmpdir(), 'device-test-')))
    const clinicFile = join(cluster.root, 'clinic.json')
    const relay = { ...(opts.relay ? { relay: opts.relay } : {}), ...(opts.env ? { env: opts.env } : {}) }
    const [first, ...rest] = names
    if (first === undefined) return cluster
    cluster.devices.push(
      await DeviceProcess.start({
        dataDir: join(cluster.root, first),
        name: first,
        clinicFile,
        initClinic: 'Test Clinic',
        ...relay,
      }),
    )
    cluster.devices.push(
      ...(await Promise.all(
        rest.map((n) =>
          DeviceProcess.start({ dataDir: join(cluster.root, n), name: n, clinicFile, ...relay }),
        ),
      )),
    )
    return cluster
  }

  async stop(): Promise<void> {
    await Promise.all(this.devices.map((d) => d.stop('SIGKILL')))
    await rm(this.root, { recursive: true, force: true })
  }
}
