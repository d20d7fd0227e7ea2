import { RelayAuthError } from './relay-url.js'

/**
 * An instance answered `/sync` with a redirect to a URL that is not in this device's relay list: refused. Whoever
 * forged or altered that answer (or an instance's misconfigured `--public-url`) must not be able to send the clinic's
 * documents anywhere but to the relays the device was configured with; it moves on to the next one of its own list.
 */
export class RelayRedirectError extends RelayAuthError {
  constructor(message: string) {
    super(message, 'RelayRedirectError')
  }
}

/** Redirects followed in a row (none linked since) before the device asks the instance in use to serve it anyway. */
export const MAX_REDIRECTS = 3

/** `ws://host:port/path` of a relay URL with http(s) as ws(s), without `/sync` or a trailing slash: what is compared. */
function normal(url: string): string {
  const u = new URL(url)
  const proto = u.protocol === 'http:' ? 'ws:' : u.protocol === 'https:' ? 'wss:' : u.protocol
  return `${proto}//${u.host}${u.pathname.replace(/\/sync\/?$/, '').replace(/\/$/, '')}`
}

/**
 * The index in `bases` (the device's own relay list) of the instance a `/sync` redirect names (its `Location`);
 * `RelayRedirectError` when it names none of them (the device then connects only to its own URL, never to the one
 * sent). Scheme, host, port and path must match: a redirect from `wss://` to `ws://` is refused too.
 */
export function redirectIndex(location: string, bases: readonly string[]): number {
  let target: string
  try {
    target = normal(location)
  } catch {
    throw new RelayRedirectError('the relay redirected to something that is not a URL: not followed')
  }
  const i = bases.findIndex((b) => {
    try {
      return normal(b) === target
    } catch {
      return false
    }
  })
  if (i < 0)
    throw new RelayRedirectError(
      `the relay redirected to ${target}, which is not in this device's relay list: not followed`,
    )
  return i
}
