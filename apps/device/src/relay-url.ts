import { isIPv4 } from 'node:net'
import { ClinicMeshError } from '@clinic-mesh/contracts'
import { ConfigError } from './errors.js'

/**
 * The relay did not prove it holds the identity key this device trusts (`GET /api/identity`: no answer, a signature
 * that does not verify, or another key than the pinned one). Nothing is shared with it: no registration, no socket.
 */
export class RelayAuthError extends ClinicMeshError {
  constructor(message: string, name = 'RelayAuthError') {
    super(name, message)
  }
}

/**
 * The relay proved another identity key than the one this device pinned: it is not the relay this device
 * knows (a replaced or impersonated relay, or one that lost its data dir). The link stays down until an operator
 * looks (a new pin means editing the device's config: never silently).
 */
export class RelayKeyMismatchError extends RelayAuthError {
  constructor(message: string) {
    super(message, 'RelayKeyMismatchError')
  }
}

/** Transport options of the link: `ca` (PEM, `--relay-ca`) for a relay with a self-signed or private certificate. */
export interface RelayTransport {
  ca?: string | Buffer
  /** `--insecure-relay`: allow `ws://`/`http://` to a host that is not loopback (development only). */
  insecure?: boolean
}

const isLoopback = (host: string): boolean =>
  host === 'localhost' ||
  host.endsWith('.localhost') ||
  host === '[::1]' ||
  (isIPv4(host) && host.startsWith('127.'))

/**
 * `--relay URL[,URL...]`: the relay instances this device may link to, in the order it tries them (instances of one
 * relay over a shared database: one identity key, any of them serves the clinic). Each is checked by
 * `checkRelayUrl`; the relay's `/sync` and a trailing slash are dropped.
 */
export function relayUrls(list: string, insecure = false): string[] {
  const urls = list
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '')
  if (urls.length === 0) throw new ConfigError('--relay names no URL (wss://HOST:PORT[,wss://HOST2:PORT])')
  for (const url of urls) checkRelayUrl(url, insecure)
  return urls.map((u) => u.replace(/\/sync\/?$/, '').replace(/\/$/, ''))
}

/**
 * The relay URL a device may use: `wss://`/`https://` anywhere, `ws://`/`http://` only to loopback (127.0.0.0/8,
 * localhost, ::1) unless `insecure` (`--insecure-relay`). Throws `ConfigError` otherwise: whoever sits in the path of a
 * plain-text link reads every chart.
 */
export function checkRelayUrl(url: string, insecure = false): void {
  if (url.includes(',')) {
    relayUrls(url, insecure)
    return
  }
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new ConfigError(`--relay ${url} is not a URL (wss://HOST:PORT)`)
  }
  if (!['ws:', 'wss:', 'http:', 'https:'].includes(u.protocol))
    throw new ConfigError(`--relay ${url}: use wss://HOST:PORT`)
  if ((u.protocol === 'ws:' || u.protocol === 'http:') && !isLoopback(u.hostname) && !insecure) {
    throw new ConfigError(
      `--relay ${url} is plain text to a host that is not loopback: use wss:// (with --relay-ca FILE for a self-signed certificate), or --insecure-relay for development only`,
    )
  }
}

/**
 * The order a device of `clinic` tries the relay instances: its first URL as given (the instance the operator routes
 * the clinic to), then the others rotated by a hash of the clinic id. A clinic's devices, given the same list, stay
 * together on failover, while the clinics of an instance that dies spread over all the others instead of all moving
 * to the next one in the list (which then opened every one of them at once: 23.5 s to recover at 100 clinics).
 */
export function failoverOrder(urls: readonly string[], clinic: string): string[] {
  if (urls.length <= 2) return [...urls]
  const rest = urls.slice(1)
  const k = clinicHash(clinic) % rest.length
  return [urls[0]!, ...rest.slice(k), ...rest.slice(0, k)]
}

/** FNV-1a (32 bits) of the clinic id: stable across devices, processes and versions. */
function clinicHash(clinic: string): number {
  let h = 0x811c9dc5
  for (const byte of new TextEncoder().encode(clinic)) h = Math.imul(h ^ byte, 0x01000193) >>> 0
  return h
}
