import type { IncomingMessage } from 'node:http'
import type { Action } from '@clinic-mesh/security'
import type { Principal } from './auth.js'
import type { SessionHost } from './node-host.js'
import { ClinicNotReadyError } from './errors.js'
import type { StockActor } from './stock-api.js'

/** The logged-in user allowed to do `action` (401 without a session, 403 for a role the policy refuses). */
export function who(node: SessionHost, req: IncomingMessage, action?: Action): Principal {
  return ready(node.auth).require(req, action, { online: node.relay?.status().connected ?? false })
}

/** The logged-in user allowed to do `action`, with the keys that sign the stock operation it records. */
export function signer(node: SessionHost, req: IncomingMessage, action?: Action): StockActor {
  const { principal, userKey } = ready(node.auth).requireSigner(req, action, {
    online: node.relay?.status().connected ?? false,
  })
  return {
    user: principal.user,
    role: principal.role,
    signer: { userKey, deviceKey: node.deviceSigningKey, peerId: node.peerId },
  }
}

/** The part of the node a route needs, or 503 while the clinic is still opening. */
export function ready<T>(v: T | undefined): T {
  if (v === undefined)
    throw new ClinicNotReadyError(
      'the clinic is still opening on this device (waiting for a peer that has it)',
    )
  return v
}
