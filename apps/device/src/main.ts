#!/usr/bin/env node
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { DeviceNode } from './device-node.js'
import { runDemo } from './demo.js'
import { seedFormulary } from './formulary-seed.js'
import { ConfigError } from './errors.js'
import { log } from './log.js'
import { devicePeerId } from './device-config.js'
import { identitySealer } from './identity-seal.js'
import { joinClinic } from './join-flow.js'
import { SECRET_ENV, checkSecretFileLocation, type StorageProtection } from './storage-at-rest.js'

const USAGE = `usage:
  clinic-mesh device --data DIR --name NAME [--port N] [--host H] [--relay wss://HOST:PORT[,wss://HOST2:PORT]] [--relay-key HEX]
                     [--relay-ca FILE] [--insecure-relay]  (CA of a self-signed relay; plain ws:// off loopback: dev only)
                     [--clinic-file FILE | --init-clinic CLINIC_NAME [--expected-charts N]] [--mesh-listen MULTIADDR]... [--mdns-interval MS]
                     [--secret-file PATH | env CLINIC_MESH_DEVICE_SECRET | --plain-storage]
                     [--join URL --join-code CODE]   (enrol through an admin device's one-time join code)
                     [--join-host ADDR]              (where this device offers join codes, default 0.0.0.0)
                     [--allow-host NAME]...          (a host name the web app is reached by, besides loopback and this machine's addresses)
                     [--history-years N|all]         (years of closed visits this device holds, this one included; default all)
  clinic-mesh demo [--data DIR] [--base-port N] [--relays N [--postgres URL]]
  clinic-mesh seed-formulary --url http://HOST:PORT [--user admin]   (password in env CLINIC_MESH_ADMIN_PASSWORD)
                     (the starting WHO essential-medicines formulary, entered through that device as an admin)`

/** The device unlock secret: `--secret-file` (outside the data dir), else the env var; `--plain-storage` opts out. */
async function protection(
  dataDir: string,
  secretFile: string | undefined,
  plain: boolean | undefined,
): Promise<{ storage?: StorageProtection }> {
  const fromEnv = process.env[SECRET_ENV]
  delete process.env[SECRET_ENV] // not inherited by anything this process might spawn
  if (plain) {
    if (secretFile !== undefined || fromEnv)
      throw new ConfigError('--plain-storage together with a device secret: choose one')
    return { storage: { plain: true } }
  }
  if (secretFile !== undefined) {
    checkSecretFileLocation(secretFile, dataDir)
    let text: string
    try {
      text = await readFile(secretFile, 'utf8')
    } catch (err) {
      throw new ConfigError(
        `cannot read the secret file ${secretFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      )
    }
    return { storage: { secret: text.replace(/\r?\n$/, '') } }
  }
  return fromEnv ? { storage: { secret: fromEnv } } : {}
}

/** `--relay-ca FILE`: PEM certificate(s) the relay's TLS certificate must chain to. */
async function readRelayCa(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch((err: unknown) => {
    throw new ConfigError(`cannot read --relay-ca ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`)
  })
  if (!text.includes('-----BEGIN CERTIFICATE-----'))
    throw new ConfigError(`--relay-ca ${file} holds no PEM certificate`)
  return text
}

async function device(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      data: { type: 'string' },
      name: { type: 'string' },
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      relay: { type: 'string' },
      'relay-key': { type: 'string' },
      'relay-ca': { type: 'string' },
      'insecure-relay': { type: 'boolean', default: false },
      'clinic-file': { type: 'string' },
      'init-clinic': { type: 'string' },
      'expected-charts': { type: 'string' },
      'mesh-listen': { type: 'string', multiple: true },
      'mdns-interval': { type: 'string' },
      'web-dist': { type: 'string' },
      'secret-file': { type: 'string' },
      'plain-storage': { type: 'boolean', default: false },
      join: { type: 'string' },
      'join-code': { type: 'string' },
      'join-host': { type: 'string' },
      'allow-host': { type: 'string', multiple: true },
      'history-years': { type: 'string' },
    },
    strict: true,
  })
  const port = Number(values.port)
  const history = values['history-years']
  const historyYears = history === undefined || history === 'all' ? history : Number(history)
  if (typeof historyYears === 'number' && !(Number.isInteger(historyYears) && historyYears >= 1)) {
    console.error(USAGE)
    process.exit(2)
  }
  const expected = values['expected-charts']
  const expectedCharts = expected === undefined ? undefined : Number(expected)
  if (
    expectedCharts !== undefined &&
    (!Number.isInteger(expectedCharts) || expectedCharts < 0 || values['init-clinic'] === undefined)
  ) {
    console.error(USAGE)
    process.exit(2)
  }
  const relayKey = values['relay-key']
  if (
    !values.data ||
    !values.name ||
    !Number.isInteger(port) ||
    port < 0 ||
    port > 65535 ||
    (relayKey !== undefined && !/^[0-9a-f]{64}$/.test(relayKey))
  ) {
    console.error(USAGE)
    process.exit(2)
  }
  let clinicFile = values['clinic-file']
  const storage = await protection(values.data, values['secret-file'], values['plain-storage'])
  if (values.join !== undefined || values['join-code'] !== undefined) {
    if (!values.join || !values['join-code'])
      throw new ConfigError('--join URL needs --join-code CODE (and the other way round)')
    const peerId = await devicePeerId(values.data, storage.storage)
    clinicFile = await joinClinic(
      values.data,
      values.join,
      values['join-code'],
      { peerId, name: values.name },
      await identitySealer(values.data, storage.storage),
    )
  }
  const node = await DeviceNode.start({
    dataDir: values.data,
    ...((values['join-host'] ?? process.env.CLINIC_MESH_JOIN_HOST)
      ? { joinHost: values['join-host'] ?? process.env.CLINIC_MESH_JOIN_HOST }
      : {}),
    ...storage,
    name: values.name,
    port,
    host: values.host,
    ...(values.relay ? { relay: values.relay } : {}),
    ...(relayKey ? { relayKey } : {}),
    ...(values['relay-ca'] !== undefined ? { relayCa: await readRelayCa(values['relay-ca']) } : {}),
    ...(values['insecure-relay'] ? { insecureRelay: true } : {}),
    ...(clinicFile ? { clinicFile } : {}),
    ...(values['init-clinic'] !== undefined ? { initClinic: values['init-clinic'] } : {}),
    ...(expectedCharts !== undefined ? { expectedCharts } : {}),
    ...(values['mesh-listen'] ? { meshListen: values['mesh-listen'] } : {}),
    ...(values['mdns-interval'] ? { mdnsIntervalMs: Number(values['mdns-interval']) } : {}),
    ...(values['web-dist'] ? { webDist: values['web-dist'] } : {}),
    ...(values['allow-host'] ? { allowHosts: values['allow-host'] } : {}),
    ...(historyYears !== undefined ? { historyYears } : {}),
  })
  const line = {
    event: 'listening',
    http: node.httpPort,
    url: `http://${values.host === '0.0.0.0' ? '127.0.0.1' : values.host}:${node.httpPort}`,
    mesh: node.mesh.multiaddrs(),
    device: node.config.deviceId,
    peerId: node.peerId,
    clinic: node.config.clinic,
    pid: process.pid,
  }
  process.stdout.write(`${JSON.stringify(line)}\n`)
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    log('stopping', { signal })
    setTimeout(() => process.exit(1), 10_000).unref()
    node.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

process.on('uncaughtException', (err) => log('uncaught-exception', { error: err.name, message: err.message }))
process.on('unhandledRejection', (err) =>
  log('unhandled-rejection', {
    error: err instanceof Error ? err.name : 'unknown',
    message: err instanceof Error ? err.message : '',
  }),
)

/** `clinic-mesh seed-formulary`: the starting formulary through a running device's API, as an admin. */
async function seed(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { url: { type: 'string' }, user: { type: 'string', default: 'admin' } },
    strict: true,
  })
  const password = process.env.CLINIC_MESH_ADMIN_PASSWORD
  if (!values.url || !password) {
    console.error(USAGE)
    process.exit(2)
  }
  const r = await seedFormulary(values.url.replace(/\/$/, ''), { user: values.user, password })
  process.stdout.write(`${JSON.stringify({ event: 'formulary-seeded', ...r })}\n`)
}

const [command, ...rest] = process.argv.slice(2)
const run =
  command === 'device'
    ? device(rest)
    : command === 'demo'
      ? runDemo(rest)
      : command === 'seed-formulary'
        ? seed(rest)
        : undefined
if (!run) {
  console.error(USAGE)
  process.exit(2)
}
run.catch((err: unknown) => {
  const r: unknown = err instanceof Error ? (err as Error & { reason?: unknown }).reason : undefined
  const reason = typeof r === 'string' ? r : null
  log('start-failed', {
    error: err instanceof Error ? err.name : 'unknown',
    reason,
    message: err instanceof Error ? err.message : String(err),
  })
  // one readable line for whoever started the node by hand (no stack trace)
  const hint = reason === 'wrong-secret' ? ' (wrong device secret)' : ''
  process.stderr.write(
    `clinic-mesh: cannot start: ${err instanceof Error ? `${err.name}${hint}: ${err.message}` : String(err)}\n`,
  )
  process.exit(
    err instanceof Error && (err.name === 'DeviceSecretRequiredError' || err.name === 'KeyFileError') ? 3 : 1,
  )
})
