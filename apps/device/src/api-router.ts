import type { IncomingMessage, ServerResponse } from 'node:http'
import { InvalidInputError, type DeviceId } from '@clinic-mesh/contracts'
import { ForbiddenError, type Action } from '@clinic-mesh/security'
import { ed25519 } from '@noble/curves/ed25519.js'
import type { Actor } from '@clinic-mesh/records'
import { authRoute } from './auth-api.js'
import type { Principal } from './auth.js'
import type { StockActor } from './stock-api.js'
import type { DeviceNode } from './device-node.js'
import { ClinicNotReadyError, DeviceRevokedError, RouteNotFoundError } from './errors.js'
import { revokeDevice } from './revocation.js'
import { errorReply, field, readJson, sendJson } from './http-util.js'
import { log } from './log.js'
import { serveStatic } from './static-files.js'

/** The logged-in user allowed to do `action` (401 without a session, 403 for a role the policy refuses). */
function who(node: DeviceNode, req: IncomingMessage, action?: Action): Principal {
  return ready(node.auth).require(req, action, { online: node.relay?.status().connected ?? false })
}

/** The logged-in user allowed to do `action`, with the keys that sign the stock operation it records. */
function signer(node: DeviceNode, req: IncomingMessage, action?: Action): StockActor {
  const { principal, userKey } = ready(node.auth).requireSigner(req, action, { online: node.relay?.status().connected ?? false })
  return { user: principal.user, role: principal.role, signer: { userKey, deviceKey: node.deviceSigningKey, peerId: node.peerId } }
}

/** PATCH /api/encounters/:id: the policy action of the most demanding part of the body. */
function encounterAction(body: Record<string, unknown>): Action {
  if (body.diagnosis !== undefined) return 'draft-prescription'
  if (body.notes !== undefined || body.notesSplice !== undefined) return 'write-notes'
  if (body.vitals !== undefined) return 'record-vitals'
  return 'read-chart'
}

function ready<T>(v: T | undefined): T {
  if (v === undefined) throw new ClinicNotReadyError('the clinic is still opening on this device (waiting for a peer that has it)')
  return v
}

async function status(node: DeviceNode): Promise<unknown> {
  if (node.revoked) return { device: { id: node.config.deviceId, name: node.config.name, peerId: node.peerId }, revoked: true, clinic: { ready: false } }
  const relay = node.relay?.status()
  const pending = (await node.ledger?.pending()) ?? 0
  return {
    device: { id: node.config.deviceId, name: node.config.name, peerId: node.peerId },
    clinic: { id: node.config.clinic, name: node.config.clinicName, directoryUrl: node.config.directoryUrl ?? null, ready: node.store !== undefined },
    directoryUrl: node.config.directoryUrl ?? null,
    peers: node.mesh.peers().map((p) => ({ id: p.repoPeerId, name: p.name, peerId: p.id })),
    network: node.network,
    relay: relay
      ? { ...relay, reachable: relay.connected }
      : { url: null, enabled: node.network.relay, connected: false, reachable: false, lastSyncAt: null, lastError: null },
    pending: { ops: pending },
    ledger: { pending, head: node.ledger?.head.seq ?? 0 },
    documents: Object.keys(node.repo.handles).length,
  }
}

function decodeSegment(p: string): string {
  try {
    return decodeURIComponent(p)
  } catch {
    throw new InvalidInputError('malformed percent-encoding in the path')
  }
}

async function route(node: DeviceNode, req: IncomingMessage, res: ServerResponse, path: string, url: URL): Promise<void> {
  const method = req.method ?? 'GET'
  const parts = path.split('/').filter(Boolean).map(decodeSegment) // ['api', ...]
  const [, a, b, c] = parts
  const send = (s: number, body: unknown): void => sendJson(res, s, body)
  if (a === 'status' && parts.length === 2 && method === 'GET') return send(200, await status(node))
  if (node.revoked) throw new DeviceRevokedError('this device was revoked by the clinic; its clinic data has been wiped')
  if (await authRoute(ready(node.auth), ready(node.audit), req, res, parts, url)) return
  if (a === 'devices' && parts.length === 2 && method === 'GET') {
    who(node, req, 'revoke-device')
    const m = node.membership
    return send(200, {
      self: node.peerId,
      enrolled: m.enrolments().map((e) => ({ peerId: e.devicePeerId, name: e.deviceName, enrolledAt: e.enrolledAt, revoked: m.isRevoked(e.devicePeerId) })),
      revocations: m.revocations().map((r) => ({ peerId: r.devicePeerId, revokedAt: r.revokedAt, reason: r.reason })),
    })
  }
  if (a === 'devices' && b === 'revoke' && parts.length === 3 && method === 'POST') {
    const p = who(node, req, 'revoke-device')
    const body = await readJson(req)
    const doc = node.membershipDoc
    if (!doc) throw new ClinicNotReadyError('the membership document is not loaded yet')
    const done = await revokeDevice(doc, node.config.clinicFile, node.config.clinic, { peerId: body.peerId, reason: body.reason })
    await ready(node.audit).record(p.user, 'change', `device:${done.peerId}`)
    await node.repo.flush([doc.documentId])
    return send(200, { revoked: done })
  }
  if (a === 'network' && parts.length === 2 && method === 'POST') {
    who(node, req)
    const body = await readJson(req)
    await node.setNetwork(field.bool(body, 'mesh'), field.bool(body, 'relay'))
    return send(200, { network: node.network })
  }
  if (a === 'signatures' && b === 'prescription' && parts.length === 3 && method === 'POST') {
    // offline, a clinician signs against the knowledge-base snapshot the relay last settled (prices, formulary): it
    // must be younger than the policy's limit (docs/ARCHITECTURE.md, offline matrix)
    const settledAt = (await ready(node.ledger).stock()).settledAt
    const knowledgeBaseAgeDays = settledAt ? (Date.now() - Date.parse(settledAt)) / 86_400_000 : undefined
    const online = node.relay?.status().connected ?? false
    const { principal, userKey } = ready(node.auth).requireSigner(req, 'sign-prescription', { online, ...(knowledgeBaseAgeDays !== undefined ? { knowledgeBaseAgeDays } : {}) })
    const body = await readJson(req)
    const hash = body.hash
    if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) throw new InvalidInputError('hash must be the prescription hash (64 hex characters)')
    const bytes = Buffer.from(hash, 'hex')
    const reply = {
      hash,
      signature: Buffer.from(ed25519.sign(bytes, userKey)).toString('hex'),
      publicKey: Buffer.from(ed25519.getPublicKey(userKey)).toString('hex'),
      device: { peerId: node.peerId, signature: Buffer.from(ed25519.sign(bytes, node.deviceSigningKey)).toString('hex') },
    }
    await ready(node.audit).record(principal.user, 'change', `prescription-signature:${hash.slice(0, 16)}`)
    return send(200, reply)
  }
  const actor = (p: Principal): Actor => ({ user: p.user, device: node.config.deviceId as DeviceId })
  const audit = (p: Principal, action: 'read' | 'change', patient: string): Promise<void> => ready(node.audit).record(p.user, action, `patient:${patient}`)
  if (a === 'patients') {
    if (parts.length === 2 && method === 'POST') {
      const p = who(node, req, 'register-patient')
      const body = await readJson(req)
      const created = await ready(node.records).register(body, actor(p))
      await audit(p, 'change', created.id)
      return send(201, created)
    }
    if (parts.length === 2 && method === 'GET') {
      who(node, req, 'read-chart')
      const limit = Math.min(Math.max(Number(url.searchParams.get('limit') ?? 20) || 20, 1), 200)
      return send(200, ready(node.records).search(url.searchParams.get('q') ?? '', limit))
    }
    if (b && parts.length === 3 && method === 'GET') {
      const p = who(node, req, 'read-chart')
      const chart = await ready(node.records).chart(b)
      await audit(p, 'read', b)
      return send(200, chart)
    }
    if (b && c === 'duplicates' && parts.length === 4 && method === 'GET') {
      who(node, req, 'read-chart')
      return send(200, ready(node.records).duplicates(b))
    }
  }
  if (a === 'encounters') {
    if (parts.length === 2 && method === 'POST') {
      const p = who(node, req, 'register-patient')
      const body = await readJson(req)
      const opened = await ready(node.records).openEncounter(body, actor(p))
      await audit(p, 'change', opened.patientId)
      return send(201, opened)
    }
    if (b && parts.length === 3 && method === 'PATCH') {
      const body = await readJson(req)
      const p = who(node, req, encounterAction(body))
      const updated = await ready(node.records).updateEncounter(b, body, actor(p))
      await audit(p, 'change', String(body.patientId))
      return send(200, updated)
    }
  }
  if (a === 'stock') {
    if (parts.length === 2 && method === 'GET') {
      who(node, req, 'read-chart')
      return send(200, await ready(node.stock).stock())
    }
    if (b === 'formulary' && parts.length === 3 && method === 'POST') {
      // the formulary is the central office's (seed 001: server authoritative): only an admin records an entry here,
      // and the relay settles it only from that authority role
      const p = signer(node, req)
      if (p.role !== 'admin') throw new ForbiddenError('role', `${p.role} may not change the formulary`)
      const body = await readJson(req)
      const r = await ready(node.stock).formulary(body, p)
      return send(r.duplicate ? 200 : 201, { operation: { ...r.operation, status: 'tentative' }, duplicate: r.duplicate })
    }
    if ((b === 'receipts' || b === 'dispenses') && parts.length === 3 && method === 'POST') {
      const p = signer(node, req, b === 'receipts' ? 'receive-stock' : 'dispense')
      const body = await readJson(req)
      const stock = ready(node.stock)
      const r = b === 'receipts' ? await stock.receive(body, p) : await stock.dispense(body, p)
      return send(r.duplicate ? 200 : 201, { operation: { ...r.operation, status: 'tentative' }, duplicate: r.duplicate })
    }
  }
  throw new RouteNotFoundError(`no route ${method} ${path}`)
}

/** Every request ends in a response: named errors map to 4xx, anything else is a 500 with details only in the log. */
export async function handleRequest(node: DeviceNode, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let path = '/'
  try {
    const url = new URL(req.url ?? '/', 'http://device.local')
    path = url.pathname
    if (path === '/api' || path.startsWith('/api/')) await route(node, req, res, path, url)
    else if (req.method === 'GET' || req.method === 'HEAD') await serveStatic(node.webDist, path, res)
    else throw new RouteNotFoundError(`no route ${req.method ?? ''} ${path}`)
  } catch (err) {
    const { status, body } = errorReply(err)
    if (status >= 500 && status !== 503) log('request-failed', { path: path.split('/').slice(0, 3).join('/'), error: err instanceof Error ? err.name : 'unknown' })
    // an oversized body was refused before it was all read: close the connection after answering
    if (status === 413) res.setHeader('connection', 'close')
    sendJson(res, status, body)
  }
}
