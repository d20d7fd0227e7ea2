#!/usr/bin/env node
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { Relay } from './relay.js'
import { stderrLogger } from './logger.js'

const USAGE = 'usage: relay --data DIR [--port N] [--host H] [--web-dist DIR]'

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { data: { type: 'string' }, port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' }, 'web-dist': { type: 'string' } },
    strict: true,
  })
  const port = Number(values.port)
  if (!values.data || !Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(USAGE)
    process.exit(2)
  }
  const relay = await Relay.start({ dataDir: values.data, port, host: values.host, ...(values['web-dist'] ? { webDist: resolve(values['web-dist']) } : {}) })
  process.stdout.write(`${JSON.stringify({ event: 'listening', port: relay.port, host: values.host, pid: process.pid, clinics: relay.watchers().length })}\n`)
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
        stderrLogger('stop-failed', { error: err instanceof Error ? err.name : 'unknown' })
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('uncaughtException', (err) => stderrLogger('uncaught-exception', { error: err.name, message: err.message }))
  process.on('unhandledRejection', (err) => stderrLogger('unhandled-rejection', { error: err instanceof Error ? err.name : 'unknown' }))
}

main().catch((err: unknown) => {
  stderrLogger('start-failed', { error: err instanceof Error ? err.name : 'unknown', message: err instanceof Error ? err.message : String(err) })
  process.exit(1)
})
