import type { IncomingMessage, ServerResponse } from 'node:http'
import { InvalidInputError, type IdentityReply } from '@clinic-mesh/contracts'
import { RELAY_IDENTITY_NONCE, signRelayIdentity } from '@clinic-mesh/mesh'
import { clinicId } from './request-bodies.js'
import { sendError, sendJson } from './http-util.js'
import type { RelayKey } from './relay-key.js'

/**
 * `GET /api/identity?nonce=N&clinic=C&peer=P` → `{ relayKey, signature }`: the relay proves it holds its identity key
 * by signing the device's own fresh nonce (with the clinic and the device's repo peer id, domain-separated:
 * `packages/mesh/src/membership/relay-auth.ts`). Devices ask before they share anything with the relay — registration
 * and every `/sync` socket — and verify against the key they pinned. Nothing is stored; the relay signs only this
 * context, so the answer cannot be replayed as any other signature of the relay.
 */
export function identityReply(key: RelayKey, q: URLSearchParams): IdentityReply {
  const nonce = q.get('nonce') ?? ''
  if (!RELAY_IDENTITY_NONCE.test(nonce))
    throw new InvalidInputError('nonce must be 22-88 characters of base64url (the device’s own random bytes)')
  const clinic = clinicId(q.get('clinic') ?? undefined)
  const peer = q.get('peer') ?? ''
  if (!/^[A-Za-z0-9._:-]{1,128}$/.test(peer))
    throw new InvalidInputError('peer must be the device’s repo peer id')
  return { relayKey: key.publicKey, signature: signRelayIdentity(key.secretKey, nonce, clinic, peer) }
}

/** Wraps the API handler: answers `GET /api/identity` itself, hands every other request on. */
export function withIdentityRoute(
  key: RelayKey,
  next: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://relay')
    if (url.pathname !== '/api/identity' || (req.method ?? 'GET') !== 'GET') return next(req, res)
    try {
      sendJson(res, 200, identityReply(key, url.searchParams))
    } catch (err) {
      sendError(res, err)
    }
  }
}
