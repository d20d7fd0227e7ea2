import type { IncomingMessage } from 'node:http'
import { networkInterfaces } from 'node:os'
import type { TLSSocket } from 'node:tls'

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const LOOPBACK = ['127.0.0.1', 'localhost', '[::1]']
const WILDCARD = new Set(['0.0.0.0', '::', '[::]', ''])

/** `[v6]` or v4 addresses of this machine's interfaces (a wildcard listener is reachable on each). */
function interfaceHosts(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .flatMap((a) =>
      a === undefined ? [] : [a.family === 'IPv6' ? `[${a.address.split('%')[0] ?? ''}]` : a.address],
    )
}

/** The named errors a server answers with (each app has its own error classes and status mapping). */
export interface SameOriginErrors {
  host: (message: string) => Error
  origin: (message: string) => Error
}

/**
 * Same-origin rules of a web surface (device node and relay). `Host` must name this server: a loopback name or an
 * address it listens on (with the listening port, or none), or a configured name (`--allow-host`, any port) —
 * anything else is DNS rebinding. A state-changing request or a WebSocket upgrade that carries an `Origin` must come
 * from this very origin (scheme://Host); no `Origin` is a non-browser client (device nodes, curl, tests) and passes.
 */
export class SameOriginGuard {
  readonly #listen: string
  readonly #names: Set<string>
  readonly #port: () => number
  readonly #errors: SameOriginErrors
  readonly #what: string

  constructor(
    listenHost: string,
    allowHosts: readonly string[],
    port: () => number,
    errors: SameOriginErrors,
    what = 'this server',
  ) {
    this.#listen =
      listenHost.includes(':') && !listenHost.startsWith('[') ? `[${listenHost}]` : listenHost.toLowerCase()
    this.#names = new Set(allowHosts.map((h) => h.trim().toLowerCase()).filter((h) => h !== ''))
    this.#port = port
    this.#errors = errors
    this.#what = what
  }

  /** The parsed Host of a request (throws the host error unless it names this server). */
  host(req: IncomingMessage): URL {
    const raw = req.headers.host
    let url: URL | undefined
    try {
      url = raw ? new URL(`${(req.socket as TLSSocket).encrypted ? 'https' : 'http'}://${raw}`) : undefined
    } catch {
      url = undefined
    }
    if (
      !url ||
      url.username !== '' ||
      url.password !== '' ||
      url.pathname !== '/' ||
      url.search !== '' ||
      url.hash !== ''
    )
      throw this.#errors.host('the Host header is missing or malformed')
    const name = url.hostname
    if (this.#names.has(name) || this.#names.has(url.host)) return url
    const portOk = url.port === '' || Number(url.port) === this.#port()
    const own =
      LOOPBACK.includes(name) ||
      name === this.#listen ||
      (WILDCARD.has(this.#listen) && interfaceHosts().includes(name))
    if (own && portOk) return url
    throw this.#errors.host(
      `${this.#what} does not answer for host ${(raw ?? '').slice(0, 100)} (add it with --allow-host)`,
    )
  }

  /** Throws unless the request may be served: Host always, Origin for state changes and upgrades. */
  check(req: IncomingMessage, upgrade = false): void {
    const host = this.host(req)
    if (!upgrade && !STATE_CHANGING.has(req.method ?? 'GET')) return
    const origin = req.headers.origin
    if (origin === undefined) return
    let from: URL | undefined
    try {
      from = new URL(origin)
    } catch {
      from = undefined
    }
    if (!from || `${from.protocol}//${from.host}` !== `${host.protocol}//${host.host}`) {
      throw this.#errors.origin(
        `requests from ${origin.slice(0, 100)} are refused: only pages of ${this.#what} may change data or sync`,
      )
    }
  }
}
