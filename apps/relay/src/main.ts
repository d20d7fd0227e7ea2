#!/usr/bin/env node
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { Relay } from './relay.js'
import { stderrLogger } from './logger.js'
import { isPublicUrl } from './sync-gate.js'

const USAGE =
  'usage: relay (--data DIR | --postgres URL [--data DIR] [--lease-ms N] [--public-url URL|auto]) [--idle-ms N] [--port N] [--host H] [--web-dist DIR] [--trust CLINIC=HEXKEY[,HEXKEY]]... [--trusted-only] [--allow-host NAME]... [--tls-cert FILE --tls-key FILE]'

/** `--trust clinic-a=<hex>,<hex>`: a clinic's admin public keys, provisioned by the operator. */
function parseTrust(values: string[]): Record<string, string[]> | undefined {
  const out: Record<string, string[]> = {}
  for (const v of values) {
    const m = /^([A-Za-z0-9_-]{1,64})=([0-9a-f]{64}(?:,[0-9a-f]{64})*)$/.exec(v)
    if (!m) return undefined
    out[m[1]!] = m[2]!.split(',')
  }
  return out
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      postgres: { type: 'string' },
      'lease-ms': { type: 'string' },
      'public-url': { type: 'string' },
      'idle-ms': { type: 'string' },
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      'web-dist': { type: 'string' },
      trust: { type: 'string', multiple: true, default: [] },
      'trusted-only': { type: 'boolean', default: false },
      'allow-host': { type: 'string', multiple: true, default: [] },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
    },
    strict: true,
  })
  const port = Number(values.port)
  const trust = parseTrust(values.trust)
  const leaseMs = values['lease-ms'] === undefined ? undefined : Number(values['lease-ms'])
  const idleMs = values['idle-ms'] === undefined ? undefined : Number(values['idle-ms'])
  if (
    (!values.data && !values.postgres) ||
    (leaseMs !== undefined && !(Number.isInteger(leaseMs) && leaseMs >= 200)) ||
    (idleMs !== undefined && !(Number.isInteger(idleMs) && idleMs >= 0)) ||
    !Number.isInteger(port) ||
    port < 0 ||
    port > 65535 ||
    !trust ||
    (values['tls-cert'] === undefined) !== (values['tls-key'] === undefined) ||
    (values['public-url'] !== undefined &&
      values['public-url'] !== 'auto' &&
      !isPublicUrl(values['public-url']))
  ) {
    console.error(USAGE)
    process.exit(2)
  }
  const relay = await Relay.start({
    ...(values.data ? { dataDir: values.data } : {}),
    ...(values.postgres ? { postgres: values.postgres } : {}),
    ...(leaseMs ? { leaseMs } : {}),
    ...(idleMs !== undefined ? { idleMs } : {}),
    ...(values['public-url'] ? { publicUrl: values['public-url'] } : {}),
    port,
    host: values.host,
    trust,
    trustedOnly: values['trusted-only'],
    allowHosts: values['allow-host'],
    ...(values['tls-cert'] && values['tls-key']
      ? { tls: { cert: await readFile(values['tls-cert']), key: await readFile(values['tls-key']) } }
      : {}),
    ...(values['web-dist'] ? { webDist: resolve(values['web-dist']) } : {}),
  })
  process.stdout.write(
    `${JSON.stringify({ event: 'listening', port: relay.port, host: values.host, tls: values['tls-cert'] !== undefined, pid: process.pid, clinics: relay.watchers().length, state: relay.stateKind, publicUrl: relay.publicUrl ?? null })}\n`,
  )
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    stderrLogger('stopping', { signal })
    // never hang on shutdown: the checkpoint and the documents are on disk before sockets close
    setTimeout(() => process.exit(1), 10_000).unref()
    relay.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        stderrLogger('stop-failed', {
          error: err instanceof Error ? err.name : 'unknown',
          message: err instanceof Error ? err.message : String(err),
        })
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('uncaughtException', (err) =>
    stderrLogger('uncaught-exception', { error: err.name, message: err.message }),
  )
  process.on('unhandledRejection', (err) =>
    stderrLogger('unhandled-rejection', { error: err instanceof Error ? err.name : 'unknown' }),
  )
}

main().catch((err: unknown) => {
  stderrLogger('start-failed', {
    error: err instanceof Error ? err.name : 'unknown',
    message: err instanceof Error ? err.message : String(err),
  })
  process.exit(1)
})
