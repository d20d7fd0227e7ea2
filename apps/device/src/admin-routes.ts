import type { IncomingMessage, ServerResponse } from 'node:http'
import { InvalidInputError } from '@clinic-mesh/contracts'
import { readClinicFile } from './clinic-file.js'
import type { DeviceNode } from './device-node.js'
import { AdminKeyUnavailableError, ClinicNotReadyError } from './errors.js'
import { readJson, sendJson } from './http-util.js'
import { hostJoin } from './join-flow.js'
import { revokeDevice } from './revocation.js'
import { ready, who } from './route-context.js'

/**
 * Device administration routes (docs/api.md "Devices and revocation"): list devices, create a join code, revoke a
 * device. Returns false for any other path.
 */
export async function adminRoute(node: DeviceNode, req: IncomingMessage, res: ServerResponse, parts: string[]): Promise<boolean> {
  const method = req.method ?? 'GET'
  const [, a, b] = parts
  const send = (s: number, body: unknown): true => {
    sendJson(res, s, body)
    return true
  }
  if (a === 'devices' && parts.length === 2 && method === 'GET') {
    who(node, req, 'revoke-device')
    const m = node.membership
    return send(200, {
      self: node.peerId,
      enrolled: m.enrolments().map((e) => ({ peerId: e.devicePeerId, name: e.deviceName, enrolledAt: e.enrolledAt, revoked: m.isRevoked(e.devicePeerId) })),
      revocations: m.revocations().map((r) => ({ peerId: r.devicePeerId, revokedAt: r.revokedAt, reason: r.reason })),
    })
  }
  if (a === 'join-codes' && parts.length === 2 && method === 'POST') {
    const p = who(node, req, 'enrol-device')
    const doc = node.membershipDoc
    if (!doc || !node.config.clinicFile) throw new ClinicNotReadyError('the membership document is not loaded yet')
    const clinic = await readClinicFile(node.config.clinicFile)
    if (!clinic.adminSecretKey) throw new AdminKeyUnavailableError('this device does not hold the clinic admin key: create join codes on the admin device')
    const offer = await hostJoin({
      clinic: { ...clinic, directoryUrl: node.config.directoryUrl ?? clinic.directoryUrl ?? '' },
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
    const p = who(node, req, 'revoke-device')
    const body = await readJson(req)
    if (body.peerId === node.peerId) throw new InvalidInputError('a device cannot revoke itself: revoke it from another device of the clinic')
    const doc = node.membershipDoc
    if (!doc) throw new ClinicNotReadyError('the membership document is not loaded yet')
    const done = await revokeDevice(doc, node.config.clinicFile, node.config.clinic, { peerId: body.peerId, reason: body.reason })
    await ready(node.audit).record(p.user, 'change', `device:${done.peerId}`)
    await node.repo.flush([doc.documentId])
    return send(200, { revoked: done })
  }
  return false
}
