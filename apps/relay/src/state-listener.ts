import pg from 'pg'
import { RELAY_CHANNEL } from './pg-schema.js'
import type { StateEvents } from './relay-state.js'

const RETRY_MS = 500

/**
 * LISTEN on RELAY_CHANNEL over its own connection. Payload `<kind> <source> <id>`: `d` a document's chunks changed
 * (`d <source> <document> <type> <hash> [changes]`: the one chunk written, key `[document, type, hash]`, and the
 * changes it added in base64 when small: pg-schema.ts `chunkNotice`),
 * `r` a clinic's registry entry, `c` a clinic's checkpoint; this instance's own are ignored. Each time it is
 * listening (first start, and after the connection dropped and came back) it calls `resync`: anything announced
 * while it was not listening is caught up from storage, never lost.
 */
export class StateListener {
  readonly #url: string
  readonly #source: string
  readonly #events: StateEvents
  #client: pg.Client | null = null
  #stopped = false
  #retry: NodeJS.Timeout | null = null

  constructor(url: string, source: string, events: StateEvents) {
    this.#url = url
    this.#source = source
    this.#events = events
  }

  /** Resolves once listening (rejects if the first connection fails). */
  async start(): Promise<void> {
    await this.#connect()
  }

  async #connect(): Promise<void> {
    // named after the instance: a connection of it tells the others it is alive (lease-ownership.ts)
    const client = new pg.Client({ connectionString: this.#url, application_name: this.#source })
    client.on('notification', (msg) => this.#dispatch(msg.payload ?? ''))
    const lost = (): void => {
      if (this.#client !== client) return
      this.#client = null
      client.end().catch(() => {})
      this.#scheduleRetry()
    }
    client.on('error', lost)
    client.on('end', lost)
    await client.connect()
    await client.query(`LISTEN ${RELAY_CHANNEL}`)
    if (this.#stopped) {
      await client.end()
      return
    }
    this.#client = client
    this.#events.resync()
  }

  #scheduleRetry(): void {
    if (this.#stopped || this.#retry) return
    this.#retry = setTimeout(() => {
      this.#retry = null
      this.#connect().catch(() => this.#scheduleRetry())
    }, RETRY_MS)
  }

  #dispatch(payload: string): void {
    const [kind, source, id, type, hash, inline] = payload.split(' ')
    if (!id || source === this.#source) return
    if (kind === 'd')
      this.#events.document(
        id,
        type && hash ? [id, type, hash] : undefined,
        inline ? new Uint8Array(Buffer.from(inline, 'base64')) : undefined,
      )
    else if (kind === 'r') this.#events.registry(id)
    else if (kind === 'c') this.#events.checkpoint(id)
  }

  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#retry) clearTimeout(this.#retry)
    const client = this.#client
    this.#client = null
    await client?.end().catch(() => {})
  }
}
