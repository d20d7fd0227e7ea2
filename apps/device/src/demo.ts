import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { writeJsonAtomic } from './clinic-file.js'
import { SECRET_ENV } from './storage-at-rest.js'
import { DEMO_ROLES } from './auth-bootstrap.js'
import { FormularySeedError } from './errors.js'
import { seedFormulary } from './formulary-seed.js'
import { relayListFor, startDemoRelays } from './demo-relays.js'

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url))
const RELAY_MAIN = fileURLToPath(new URL('../../relay/dist/main.js', import.meta.url))
const DEVICES = ['Reception', 'Consultation', 'Pharmacy']

interface DemoState {
  relayPort?: number
  ports: { [name: string]: number }
  /**
   * Device unlock secrets (hex), one per demo device, kept here in the demo's own state file, outside each device's
   * data dir, so `npm start` stays zero-config and resumes. A real tablet never keeps its secret on the same disk.
   */
  secrets?: { [name: string]: string }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const s = createServer()
    s.once('error', () => ok(false))
    s.listen(port, '127.0.0.1', () => s.close(() => ok(true)))
  })
}

interface Started {
  child: ChildProcess
  line: Record<string, unknown>
}

/** Spawns a node process and resolves with its first stdout JSON line (`{"event":"listening",...}`). */
function launch(label: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Started> {
  // automerge-repo's throttle sometimes asks for a negative delay (Node clamps it to 1 ms and warns): not ours to fix,
  // and three devices repeating it bury the demo's own lines
  const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  })
  createInterface({ input: child.stderr }).on('line', (l) => process.stderr.write(`[${label}] ${l}\n`))
  const lines = createInterface({ input: child.stdout })
  return new Promise((ok, fail) => {
    child.once('exit', (code) => fail(new Error(`${label} exited with ${code} before it was listening`)))
    lines.on('line', (l) => {
      let parsed: Record<string, unknown>
      try {
        parsed = JSON.parse(l) as Record<string, unknown>
      } catch {
        return
      }
      if (parsed.event === 'listening') ok({ child, line: parsed })
      else if (parsed.event === 'ready')
        process.stdout.write(`[${label}] clinic open (${String(parsed.clinic)})\n`)
    })
  })
}

/**
 * The starting formulary, entered on the founding device as the demo's admin once the clinic is open there (its
 * sign-in answers 503 until then); a resumed demo finds every entry already there.
 */
async function seedWhenOpen(url: string): Promise<{ added: number; already: number }> {
  const admin = { user: 'admin', password: 'admin-demo' }
  for (let attempt = 1; ; attempt++) {
    try {
      return await seedFormulary(url, admin)
    } catch (err) {
      // only "not open yet" (503) or "not answering yet" is worth another try: a refused password is not
      const later = err instanceof FormularySeedError ? err.status === 503 : err instanceof TypeError
      if (!later || attempt >= 40) throw err
      await new Promise((r) => setTimeout(r, 500))
    }
  }
}

/**
 * `clinic-mesh demo`: one relay (when apps/relay is built) and three device nodes on this machine, each with its
 * own data directory under `.data/demo/`, meeting by mDNS on loopback. A second run resumes the same clinic,
 * keys and (when free) ports. Ctrl-C stops everything. `--relays N [--postgres URL]`: N relay instances over one
 * PostgreSQL (without a URL a throwaway cluster, and the devices start afresh in `.data/demo-relays/`): device 1
 * linked to the first, the others to the second, each with the rest to fail over to.
 */
export async function runDemo(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      data: { type: 'string', default: '.data/demo' },
      'base-port': { type: 'string', default: '4300' },
      relays: { type: 'string', default: '1' },
      postgres: { type: 'string' },
    },
  })
  const relays = Number(values.relays)
  if (!Number.isInteger(relays) || relays < 1 || relays > 9) {
    process.stderr.write('demo: --relays N takes 1 to 9\n')
    process.exit(2)
  }
  const many = relays > 1 || values.postgres !== undefined
  // a throwaway database has a new relay key each run: devices that pinned the last one would refuse it
  const throwaway = many && !values.postgres
  const dir = resolve(throwaway ? `${values.data}-relays` : values.data)
  if (throwaway) await rm(dir, { recursive: true, force: true }) // the demo's own dir, from its last throwaway run
  const base = Number(values['base-port'])
  await mkdir(dir, { recursive: true })
  const stateFile = join(dir, 'demo.json')
  const state: DemoState = existsSync(stateFile)
    ? (JSON.parse(await readFile(stateFile, 'utf8')) as DemoState)
    : { ports: {} }
  const pick = async (wanted: number): Promise<number> => ((await portFree(wanted)) ? wanted : 0)
  const children: ChildProcess[] = []
  let stopping = false
  let stopDatabase = (): Promise<void> => Promise.resolve()
  const stopAll = (): void => {
    if (stopping) return
    stopping = true
    process.stdout.write('\nstopping the demo...\n')
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM')
    void Promise.all(
      children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : Promise.resolve())),
    )
      .then(() => stopDatabase())
      .then(() => process.exit(0))
    setTimeout(() => process.exit(1), 12_000).unref()
  }
  process.on('SIGINT', stopAll)
  process.on('SIGTERM', stopAll)

  let relayUrl: string | undefined
  let relayUrls: string[] = []
  if (many) {
    const started = await startDemoRelays(relays, values.postgres, RELAY_MAIN, launch, children)
    relayUrls = started.urls
    stopDatabase = started.stopDatabase
  } else if (existsSync(RELAY_MAIN)) {
    const relay = await launch('relay', [
      RELAY_MAIN,
      '--data',
      join(dir, 'relay'),
      '--port',
      String(await pick(state.relayPort ?? base)),
    ])
    children.push(relay.child)
    state.relayPort = Number(relay.line.port)
    relayUrl = `ws://127.0.0.1:${state.relayPort}`
    // the reviewer console (the central office's screens) is the relay's page; its JSON status is at /api/status
    process.stdout.write(`relay console    ${relayUrl.replace('ws', 'http')}/\n`)
  } else {
    process.stdout.write(
      'relay            not built yet (apps/relay/dist/main.js missing): running the mesh without it\n',
    )
  }
  const clinicFile = join(dir, 'clinic.json')
  const secrets = (state.secrets ??= {})
  for (const name of DEVICES) secrets[name] ??= randomBytes(32).toString('hex')
  await writeJsonAtomic(stateFile, state) // before any device encrypts under them: losing them loses the data
  const startDevice = async (name: string, i: number): Promise<void> => {
    const port = await pick(state.ports[name] ?? (base > 0 ? base + 1 + i : 0))
    const args = [
      MAIN,
      'device',
      '--data',
      join(dir, name.toLowerCase()),
      '--name',
      name,
      '--port',
      String(port),
      '--clinic-file',
      clinicFile,
    ]
    args.push('--mesh-listen', '/ip4/127.0.0.1/tcp/0', '--mdns-interval', '1000')
    if (i === 0) args.push('--init-clinic', 'Demo Clinic')
    if (relayUrls.length > 0) args.push('--relay', relayListFor(i, relayUrls))
    else if (relayUrl) args.push('--relay', relayUrl)
    // demo accounts (user name = role, password `<role>-demo`; admin: `admin-demo`), created by the founding device
    const users = { CLINIC_MESH_DEMO_USERS: '1', CLINIC_MESH_ADMIN_PASSWORD: 'admin-demo' }
    // the demo's devices enrol themselves through one shared clinic file (clinic secret and admin key in it, in
    // .data/demo/ beside demo.json's device secrets, outside every device's data dir): a demo on one laptop only
    const shared = { CLINIC_MESH_SHARED_CLINIC_FILE: '1' }
    const d = await launch(name, args, { ...process.env, ...users, ...shared, [SECRET_ENV]: secrets[name] })
    children.push(d.child)
    state.ports[name] = Number(d.line.http)
    process.stdout.write(`${name.padEnd(16)} ${String(d.line.url)}\n`)
  }
  try {
    await startDevice(DEVICES[0]!, 0) // creates the clinic (first run) and writes the clinic file
    await Promise.all(DEVICES.slice(1).map((n, i) => startDevice(n, i + 1)))
  } catch (err) {
    process.stderr.write(`demo failed to start: ${err instanceof Error ? err.message : String(err)}\n`)
    stopAll()
    return
  }
  await writeJsonAtomic(stateFile, state)
  try {
    const founder = `http://127.0.0.1:${state.ports[DEVICES[0]!]}`
    const r = await seedWhenOpen(founder)
    process.stdout.write(
      `formulary        ${r.added + r.already} essential medicines (WHO Model List)${r.added ? `, ${r.added} entered now` : ''}\n`,
    )
  } catch (err) {
    process.stderr.write(
      `the starting formulary was not entered: ${err instanceof Error ? err.message : String(err)}\n`,
    )
  }
  process.stdout.write(
    `sign in as ${DEMO_ROLES.join(', ')} (password: <user>-demo, e.g. nurse-demo) or admin (admin-demo)\n`,
  )
  process.stdout.write(`data in ${dir}; Ctrl-C stops everything, npm start resumes\n`)
  for (const c of children) c.once('exit', () => stopAll())
}
