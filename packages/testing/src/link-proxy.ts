import { createServer, connect, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'

export interface LinkProxyInit {
  /** where connections are forwarded */
  target: { host: string; port: number }
  /** where the proxy listens (default 127.0.0.1, any free port) */
  listen?: { host?: string; port?: number }
  /** one-way delay added to every byte, each direction (default 0): 150 → a 300 ms round trip */
  delayMs?: number
  /** bytes a direction may hold in its delay line before the proxy stops reading that side (default 1 MiB) */
  highWaterBytes?: number
}

/** Bytes forwarded so far: `up` client → target, `down` target → client. */
export interface LinkBytes {
  up: number
  down: number
}

/** One direction of one connection: a FIFO of chunks released `delayMs` after they arrived. */
class DelayLine {
  readonly #queue: Array<{ at: number; data: Buffer }> = []
  #held = 0
  #timer: NodeJS.Timeout | undefined
  #blocked = false
  /** stalled: nothing is forwarded and nothing read (a link that went silent without a reset) */
  stalled = false

  constructor(
    readonly from: Socket,
    readonly to: Socket,
    readonly delayMs: number,
    readonly highWater: number,
    readonly count: (n: number) => void,
  ) {
    from.on('data', (data: Buffer) => {
      this.#queue.push({ at: Date.now() + delayMs, data })
      this.#held += data.byteLength
      if (this.#held > highWater) from.pause()
      this.#flush()
    })
    from.on('end', () => this.#queue.push({ at: Date.now() + delayMs, data: Buffer.alloc(0) }))
    to.on('drain', () => {
      this.#blocked = false
      this.#flush()
    })
  }

  stall(on: boolean): void {
    this.stalled = on
    if (on) this.from.pause()
    else {
      this.from.resume()
      this.#flush()
    }
  }

  #flush(): void {
    clearTimeout(this.#timer)
    if (this.stalled) return
    const now = Date.now()
    while (!this.#blocked && this.#queue.length > 0 && this.#queue[0]!.at <= now) {
      const { data } = this.#queue.shift()!
      if (this.to.destroyed) return
      if (data.byteLength === 0) {
        this.to.end() // the sender's FIN, delayed like its data
        continue
      }
      this.#held -= data.byteLength
      this.count(data.byteLength)
      if (!this.to.write(data)) this.#blocked = true
      if (this.#held <= this.highWater && this.from.isPaused() && !this.stalled) this.from.resume()
    }
    const next = this.#queue[0]
    if (!this.#blocked && next !== undefined) this.#timer = setTimeout(() => this.#flush(), next.at - now)
  }

  stop(): void {
    clearTimeout(this.#timer)
    this.#queue.length = 0
    this.#held = 0
  }
}

/**
 * A TCP proxy for tests over a bad link: it forwards connections to `target` with a one-way delay each direction,
 * counts the bytes it forwards, and can cut the link: `cut()` resets every connection and refuses (resets) new ones
 * until `restore()`. Bandwidth is not its business: shape the interface with `tc … tbf` (NetnsLab.shape).
 */
export class LinkProxy {
  readonly #init: LinkProxyInit
  readonly #server: Server
  readonly #open = new Set<{ client: Socket; upstream: Socket; lines: DelayLine[] }>()
  readonly bytes: LinkBytes = { up: 0, down: 0 }
  #cut = false
  #stalled: false | 'both' | 'up' | 'down' = false
  readonly #frozen = new Set<{ client: Socket; upstream: Socket; lines: DelayLine[] }>()
  /** connections accepted and forwarded (not counting those refused while cut) */
  connections = 0
  /** connections refused while cut */
  refused = 0

  private constructor(init: LinkProxyInit) {
    this.#init = init
    this.#server = createServer((client) => this.#accept(client))
  }

  static async start(init: LinkProxyInit): Promise<LinkProxy> {
    const proxy = new LinkProxy(init)
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject)
      proxy.#server.listen(init.listen?.port ?? 0, init.listen?.host ?? '127.0.0.1', () => resolve())
    })
    return proxy
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port
  }

  get host(): string {
    return (this.#server.address() as AddressInfo).address
  }

  get isCut(): boolean {
    return this.#cut
  }

  /** Drops every connection (TCP reset on both sides) and refuses new ones until restore(). */
  cut(): void {
    this.#cut = true
    for (const c of [...this.#open]) this.#drop(c)
  }

  restore(): void {
    this.#cut = false
    this.#stalled = false
    for (const c of this.#open) for (const l of c.lines) l.stall(false)
  }

  /**
   * The link goes silent without a reset (out of Wi-Fi range, a 3G dead zone): every open connection stops
   * forwarding (both directions, or only `up` client → target, or `down`), nothing is dropped, until restore().
   * New connections stall too.
   */
  stall(direction: 'both' | 'up' | 'down' = 'both'): void {
    this.#stalled = direction
    for (const c of this.#open) this.#stallLines(c.lines)
  }

  #stallLines(lines: DelayLine[]): void {
    const s = this.#stalled
    if (s === false) return
    lines.forEach((l, i) => (s === 'both' || (s === 'up') === (i === 0) ? l.stall(true) : undefined))
  }

  /**
   * Every open connection dies silently for good, as when a path through the air goes away: nothing more is
   * forwarded on it, and neither a close nor a reset from one end reaches the other (each end learns only from its
   * own timeouts). New connections work as before.
   */
  freeze(): void {
    for (const c of [...this.#open]) {
      this.#open.delete(c)
      this.#frozen.add(c)
      for (const l of c.lines) l.stall(true)
      // from now on a socket's end destroys only that socket
      for (const sock of [c.client, c.upstream]) {
        sock.removeAllListeners('close')
        sock.removeAllListeners('error')
        sock.on('error', () => undefined)
      }
    }
  }

  async close(): Promise<void> {
    for (const c of this.#frozen) for (const sock of [c.client, c.upstream]) sock.destroy()
    this.#frozen.clear()
    this.cut()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  #accept(client: Socket): void {
    client.on('error', () => undefined) // resets are this proxy's business; the counters say what happened
    if (this.#cut) {
      this.refused++
      client.resetAndDestroy()
      return
    }
    this.connections++
    const { delayMs = 0, highWaterBytes = 1024 * 1024 } = this.#init
    const upstream = connect(this.#init.target.port, this.#init.target.host)
    upstream.on('error', () => undefined)
    client.setNoDelay(true)
    upstream.setNoDelay(true)
    const conn = {
      client,
      upstream,
      lines: [
        new DelayLine(client, upstream, delayMs, highWaterBytes, (n) => (this.bytes.up += n)),
        new DelayLine(upstream, client, delayMs, highWaterBytes, (n) => (this.bytes.down += n)),
      ],
    }
    this.#open.add(conn)
    this.#stallLines(conn.lines)
    const done = (): void => this.#drop(conn)
    for (const s of [client, upstream]) {
      s.on('error', done)
      s.on('close', done)
    }
  }

  #drop(conn: { client: Socket; upstream: Socket; lines: DelayLine[] }): void {
    if (!this.#open.delete(conn)) return
    for (const l of conn.lines) l.stop()
    for (const s of [conn.client, conn.upstream]) if (!s.destroyed) s.resetAndDestroy()
  }
}
