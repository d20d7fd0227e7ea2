import type { PeerId } from '@automerge/automerge-repo'
import { verifyRelayProof } from '@clinic-mesh/mesh'
import { nativeVerify } from './native-ed25519.js'
import type { AccessMap } from './access-map.js'
import type { ClinicHost } from './clinic-host.js'
import type { ClinicRegistry } from './clinic-registry.js'
import { DeviceAuthError, NotEnrolledError } from './errors.js'
import type { Logger } from './logger.js'
import type { NonceBook } from './nonce-book.js'
import type { RelayState } from './relay-state.js'

export interface SyncGateInit {
  readonly nonces: NonceBook
  readonly access: AccessMap
  readonly registry: ClinicRegistry
  readonly clinics: ClinicHost
  readonly state: RelayState
  readonly log: Logger
}

/** What `/sync` answers a device: serve it here, send it to its clinic's settler, or refuse it. */
export type SyncAdmission =
  | { readonly kind: 'serve'; readonly peer: string; readonly stay?: boolean }
  | { readonly kind: 'redirect'; readonly peer: string; readonly clinic: string; readonly to: string }
  | { readonly kind: 'refused'; readonly error: DeviceAuthError | NotEnrolledError }

/**
 * `/sync?peer=P&nonce=N&signature=S[&stay=1]`: P is a registered repo peer and the device key it registered with
 * signed a fresh nonce and P. Among instances over PostgreSQL, a device whose clinic another live instance settles is
 * sent there (a 307 with that instance's public URL: its devices then sync where the clinic is settled, and no other
 * instance opens the clinic); `stay=1` (a device that was redirected several times in a row) is served here. A clinic
 * nobody settles is taken here (its lease, if free) and served.
 */
export class SyncGate {
  readonly #init: SyncGateInit
  /** peers last admitted with `stay=1` (they could not reach their clinic's settler): never shed */
  readonly #stayed = new Set<string>()

  constructor(init: SyncGateInit) {
    this.#init = init
  }

  async admit(q: URLSearchParams): Promise<SyncAdmission> {
    const peer = await this.#authenticate(q)
    if (typeof peer !== 'string') return { kind: 'refused', error: peer }
    const { access, state, clinics, log } = this.#init
    const clinic = access.clinicOfPeer(peer as PeerId)
    if (q.get('stay') === '1') {
      this.#stayed.add(peer)
      return { kind: 'serve', peer, stay: true }
    }
    this.#stayed.delete(peer)
    if (clinic === undefined || !state.routes) return { kind: 'serve', peer }
    let to: string | undefined
    try {
      to = await state.routes.ownerUrl(clinic)
    } catch (err) {
      // the database did not answer: serve here (the fan-out works from any instance)
      log('route-failed', { clinic, error: err instanceof Error ? err.name : 'unknown' })
    }
    if (to !== undefined && isPublicUrl(to)) return { kind: 'redirect', peer, clinic, to }
    // nobody else settles it: take it here (a follower tries the lease now; the clinic is opened by the caller)
    if (clinics.watcher(clinic)?.settlement.settler === false) clinics.takeOver(clinic)
    return { kind: 'serve', peer }
  }

  /**
   * Devices connected here whose clinic another live instance settles now (after a failover a clinic's devices come
   * back to several instances; one takes the lease): their sockets are closed (`close`) so they reconnect and are
   * redirected to the settler, and the clinic is open on one instance again. Not a device that asked to stay.
   */
  async shed(peers: Iterable<string>, close: (peer: string, reason: string) => boolean): Promise<void> {
    const { access, clinics, state, log } = this.#init
    if (!state.routes) return
    const byClinic = new Map<string, string[]>()
    for (const peer of peers) {
      const clinic = access.clinicOfPeer(peer as PeerId)
      if (clinic === undefined || this.#stayed.has(peer) || clinics.watcher(clinic)?.settlement.settler)
        continue
      byClinic.set(clinic, [...(byClinic.get(clinic) ?? []), peer])
    }
    if (byClinic.size === 0) return
    const owners = await state.routes.ownerUrls([...byClinic.keys()])
    for (const [clinic, to] of owners) {
      let shed = 0
      for (const peer of byClinic.get(clinic) ?? []) if (close(peer, `clinic syncs at ${to}`)) shed++
      if (shed > 0) log('sync-shed', { clinic, devices: shed, to })
    }
  }

  /** The peer, or the refusal to answer with (the socket is never upgraded). */
  async #authenticate(q: URLSearchParams): Promise<string | DeviceAuthError | NotEnrolledError> {
    const { nonces, access, registry, clinics, state } = this.#init
    const peer = q.get('peer') ?? ''
    const proof = { nonce: q.get('nonce') ?? '', signature: q.get('signature') ?? '' }
    if (!peer || !proof.nonce || !proof.signature)
      return new DeviceAuthError('sync needs peer, nonce and signature (see docs/relay-api.md)')
    if (!nonces.take(proof.nonce)) return new DeviceAuthError('unknown, expired or used nonce')
    // registered at another instance a moment ago, or a stale registry entry: read the registry before refusing
    if (state.kind === 'postgres' && registry.shouldReadForUnknown(access.clinicOfPeer(peer as PeerId), peer))
      await clinics.registeredAll().catch(() => {})
    const clinic = access.clinicOfPeer(peer as PeerId)
    const key = clinic === undefined ? undefined : registry.deviceKeyOf(clinic, peer)
    if (key === undefined)
      return new NotEnrolledError(`peer ${peer} is not registered with a device key: POST /api/clinics first`)
    if (!verifyRelayProof(key, 'sync', proof, [peer], nativeVerify))
      return new DeviceAuthError(`proof does not verify for peer ${peer}`)
    return peer
  }
}

/** The 307 a device gets instead of an upgrade: its clinic's settler's `/sync` (the device checks it is in its list). */
export function redirectReply(to: string): string {
  const location = `${to.replace(/\/$/, '')}/sync`
  return `HTTP/1.1 307 Temporary Redirect\r\nlocation: ${location}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nClinicElsewhereRedirect: this clinic syncs at ${location}\n`
}

/** A URL an instance may advertise and be redirected to: ws(s) or http(s), no credentials, nothing to split a header. */
export function isPublicUrl(url: string): boolean {
  if (!/^[\x21-\x7e]+$/.test(url)) return false
  try {
    const u = new URL(url)
    return ['ws:', 'wss:', 'http:', 'https:'].includes(u.protocol) && !u.username && !u.password && !u.search
  } catch {
    return false
  }
}
