import type { IncomingMessage, ServerResponse } from 'node:http'
import { InvalidInputError, RevokeDeviceRequestSchema, type DevicesReply } from '@clinic-mesh/contracts'
import { readClinicFile } from './clinic-file.js'
import type { AdminHost } from './node-host.js'
import type { Principal } from './auth.js'
import { AdminKeyUnavailableError, ClinicNotReadyError, SigningKeyLockedError } from './errors.js'
import { readBody, sendJson } from './http-util.js'
import { hostJoin } from './join-flow.js'
import { revokeDevice } from './revocation.js'
import { ready, who } from './route-context.js'

/**
 * The acting admin and the clinic admin secret key: unlocked by their sign-in on the device that holds it wrapped
 * (admin-key.json), or — a launcher's shared clinic file (demo, tests) — read from that file. On the device holding
 * the wrapped key, a session without it (signed in before a restart, or as another admin) is asked to sign in again.
 */
async function clinicAdminKey(
  node: AdminHost,
  req: IncomingMessage,
  action: 'enrol-device' | 'revoke-device',
): Promise<{ p: Principal; key: Uint8Array }> {
  const p = who(node, req, action)
  const held = ready(node.auth).adminKeyOf(req)
  if (held.key) return { p, key: held.key }
  const shared = node.config.clinicFile
    ? await readClinicFile(node.config.clinicFile).catch(() => undefined)
    : undefined
  if (shared?.adminSecretKey) return { p, key: Buffer.from(shared.adminSecretKey, 'hex') }
  if (held.locked)
    throw new SigningKeyLockedError(
      'sign in again: the clinic admin key is unlocked by your password at sign-in, and this session does not hold it (the device restarted since)',
    )
  throw new AdminKeyUnavailableError(
    'this device does not hold the clinic admin key for you: use the device that created the clinic, as the admin whose password unlocks it',
  )
}

/**
 * Device administration routes (docs/api.md "Devices and revocation"): list devices, create a join code, revoke a
 * device. Returns false for any other path.
 */
export async function adminRoute(
  node: AdminHost,
  req: IncomingMessage,
  res: ServerResponse,
  parts: string[],
): Promise<boolean> {
  const method = req.method ?? 'GET'
  const [, a, b] = parts
  const send = (s: number, body: unknown): true => {
    sendJson(res, s, body)
    return true
  }
  if (a === 'devices' && parts.length === 2 && method === 'GET') {
    who(node, req, 'revoke-device')
    const m = node.membership
    const reply: DevicesReply = {
      self: node.peerId,
      enrolled: m.enrolments().map((e) => ({
        peerId: e.devicePeerId,
        name: e.deviceName,
        enrolledAt: e.enrolledAt,
        revoked: m.isRevoked(e.devicePeerId),
      })),
      revocations: m
        .revocations()
        .map((r) => ({ peerId: r.devicePeerId, revokedAt: r.revokedAt, reason: r.reason })),
    }
    return send(200, reply)
  }
  if (a === 'join-codes' && parts.length === 2 && method === 'POST') {
    const { p, key } = await clinicAdminKey(node, req, 'enrol-device')
    const doc = node.membershipDoc
    if (!doc) throw new ClinicNotReadyError('the membership document is not loaded yet')
    const c = node.config
    const offer = await hostJoin({
      clinic: {
        kind: 'clinic-mesh/clinic/1',
        clinic: c.clinic,
        name: c.clinicName,
        site: c.site,
        mdnsTag: c.mdnsTag,
        adminPublicKeys: c.adminPublicKeys,
        enrolments: [],
        clinicSecret: c.clinicSecret,
        adminSecretKey: Buffer.from(key).toString('hex'),
        directoryUrl: c.directoryUrl ?? '',
      },
      host: node.joinHost,
      members: node.membership.enrolments().filter((e) => !node.membership.isRevoked(e.devicePeerId)),
      enrol: async (e) => {
        doc.change((d) => {
          d.enrolments[e.devicePeerId] = { ...e }
        })
        await node.repo.flush([doc.documentId])
      },
    })
    await ready(node.audit).record(p.user, 'change', 'device:join-code')
    return send(201, offer)
  }
  if (a === 'devices' && b === 'revoke' && parts.length === 3 && method === 'POST') {
    const { p, key } = await clinicAdminKey(node, req, 'revoke-device')
    const body = await readBody(req, RevokeDeviceRequestSchema)
    if (body.peerId === node.peerId)
      throw new InvalidInputError(
        'a device cannot revoke itself: revoke it from another device of the clinic',
      )
    const doc = node.membershipDoc
    if (!doc) throw new ClinicNotReadyError('the membership document is not loaded yet')
    const done = revokeDevice(doc, key, node.config.clinic, body)
    await ready(node.audit).record(p.user, 'change', `device:${done.peerId}`)
    await node.repo.flush([doc.documentId])
    return send(200, { revoked: done })
  }
  return false
}
