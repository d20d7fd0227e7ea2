import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  DispenseRequestSchema,
  FormularyRequestSchema,
  InvalidInputError,
  NetworkRequestSchema,
  OpenEncounterRequestSchema,
  ReceiptRequestSchema,
  RegisterPatientRequestSchema,
  UpdateEncounterRequestSchema,
  type DeviceId,
  type StatusReply,
  type UpdateEncounterRequest,
} from '@clinic-mesh/contracts'
import { ForbiddenError, type Action } from '@clinic-mesh/security'
import type { Actor } from '@clinic-mesh/records'
import { adminRoute } from './admin-routes.js'
import { meshRoute, meshStatus } from './mesh-routes.js'
import { authRoute } from './auth-api.js'
import { browserKeyRoute } from './browser-key.js'
import { handleFhir } from './fhir-routes.js'
import { dispense } from './dispense-route.js'
import { prescriptionBalanceRoute, prescriptionRoute } from './prescription-routes.js'
import { stockControlRoute } from './stock-control-routes.js'
import { ready, signer, who } from './route-context.js'
import type { Principal } from './auth.js'
import type { NodeHost } from './node-host.js'
import { DeviceRevokedError, RouteNotFoundError } from './errors.js'
import { SECURITY_HEADERS, errorReply, readBody, sendJson } from './http-util.js'
import { log } from './log.js'
import { serveStatic } from './static-files.js'

/** PATCH /api/encounters/:id: the policy action of the most demanding part of the body. */
function encounterAction(body: UpdateEncounterRequest): Action {
  if (body.diagnosis !== undefined && body.diagnosis !== null) return 'draft-prescription'
  if (body.notes !== undefined || (body.notesSplice !== undefined && body.notesSplice !== null))
    return 'write-notes'
  if (body.vitals !== undefined && body.vitals !== null) return 'record-vitals'
  return 'read-chart'
}

async function status(node: NodeHost): Promise<StatusReply> {
  if (node.revoked)
    return {
      device: { id: node.config.deviceId, name: node.config.name, peerId: node.peerId },
      revoked: true,
      clinic: { ready: false },
    }
  const relay = node.relay?.status()
  const pending = (await node.ledger?.pending()) ?? 0
  return {
    device: { id: node.config.deviceId, name: node.config.name, peerId: node.peerId },
    clinic: {
      id: node.config.clinic,
      name: node.config.clinicName,
      directoryUrl: node.config.directoryUrl ?? null,
      ready: node.store !== undefined,
    },
    directoryUrl: node.config.directoryUrl ?? null,
    peers: node.mesh
      .peers()
      .map((p) => ({ id: p.repoPeerId, name: p.name, peerId: p.id, foundBy: p.foundBy })),
    network: node.network,
    mesh: meshStatus(node.mesh),
    relay: relay
      ? { ...relay, reachable: relay.connected }
      : {
          url: null,
          enabled: node.network.relay,
          connected: false,
          reachable: false,
          lastSyncAt: null,
          lastError: null,
        },
    pending: { ops: pending },
    ledger: { pending, head: node.ledger?.head.seq ?? 0 },
    documents: Object.keys(node.repo.handles).length,
    ...(node.store
      ? {
          charts: {
            buckets: node.store.layout.chartBuckets.length,
            held: node.store.loadedBuckets,
            ...(node.chartPull && node.chartPull.allMs === undefined
              ? { pull: node.chartPull.progress }
              : {}),
          },
        }
      : {}),
  }
}

function decodeSegment(p: string): string {
  try {
    return decodeURIComponent(p)
  } catch {
    throw new InvalidInputError('malformed percent-encoding in the path')
  }
}

async function route(
  node: NodeHost,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  url: URL,
): Promise<void> {
  const method = req.method ?? 'GET'
  const parts = path.split('/').filter(Boolean).map(decodeSegment) // ['api', ...]
  const [, a, b, c] = parts
  const send = (s: number, body: unknown): void => sendJson(res, s, body)
  if (a === 'status' && parts.length === 2 && method === 'GET') return send(200, await status(node))
  if (node.revoked)
    throw new DeviceRevokedError('this device was revoked by the clinic; its clinic data has been wiped')
  if (await authRoute(ready(node.auth), ready(node.audit), req, res, parts, url)) return
  if (await browserKeyRoute(node, req, res, parts)) return
  if (await adminRoute(node, req, res, parts)) return
  if (await meshRoute(node, req, res, parts)) return
  if (await prescriptionRoute(node, req, res, parts)) return
  if (await prescriptionBalanceRoute(node, req, res, parts)) return
  if (await stockControlRoute(node, req, res, parts, url)) return
  if (a === 'network' && parts.length === 2 && method === 'POST') {
    who(node, req)
    const body = await readBody(req, NetworkRequestSchema)
    await node.setNetwork(body.mesh, body.relay)
    return send(200, { network: node.network })
  }
  const actor = (p: Principal): Actor => ({ user: p.user, device: node.config.deviceId as DeviceId })
  const audit = (p: Principal, action: 'read' | 'change', patient: string): Promise<void> =>
    ready(node.audit).record(p.user, action, `patient:${patient}`)
  if (a === 'patients') {
    if (parts.length === 2 && method === 'POST') {
      const p = who(node, req, 'register-patient')
      const body = await readBody(req, RegisterPatientRequestSchema)
      // the audit entry is appended once the chart is written and saved with it (stored before the answer, as before)
      const trail = ready(node.audit)
      const created = await ready(node.records).register(body, actor(p), (id) =>
        trail.append(p.user, 'change', `patient:${id}`),
      )
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
    if (b && c === 'visits' && parts[4] && parts.length === 5 && method === 'GET') {
      const p = who(node, req, 'read-chart')
      const visit = await ready(node.records).visit(b, parts[4])
      await audit(p, 'read', b)
      return send(visit.state === 'fetching' ? 202 : 200, visit)
    }
    if (b && c === 'duplicates' && parts.length === 4 && method === 'GET') {
      who(node, req, 'read-chart')
      return send(200, ready(node.records).duplicates(b))
    }
  }
  if (a === 'queue' && parts.length === 2 && method === 'GET') {
    who(node, req, 'read-chart')
    return send(200, ready(node.records).queue())
  }
  if (a === 'encounters') {
    if (parts.length === 2 && method === 'POST') {
      const p = who(node, req, 'register-patient')
      const body = await readBody(req, OpenEncounterRequestSchema)
      const opened = await ready(node.records).openEncounter(body, actor(p))
      await audit(p, 'change', opened.patientId)
      return send(201, opened)
    }
    if (b && parts.length === 3 && method === 'PATCH') {
      const body = await readBody(req, UpdateEncounterRequestSchema)
      const p = who(node, req, encounterAction(body))
      const updated = await ready(node.records).updateEncounter(b, body, actor(p))
      await audit(p, 'change', body.patientId)
      return send(200, updated)
    }
  }
  if (a === 'stock') {
    if (parts.length === 2 && method === 'GET') {
      who(node, req, 'read-chart')
      return send(200, await ready(node.stock).stock())
    }
    if (b === 'flags' && parts.length === 3 && method === 'GET') {
      who(node, req, 'dispense')
      return send(200, await ready(node.stock).flags())
    }
    if (b === 'formulary' && parts.length === 3 && method === 'POST') {
      // the formulary is the central office's (seed 001: server authoritative): only an admin records an entry here,
      // and the relay settles it only from that authority role
      const p = signer(node, req)
      if (p.role !== 'admin') throw new ForbiddenError('role', `${p.role} may not change the formulary`)
      const body = await readBody(req, FormularyRequestSchema)
      const r = await ready(node.stock).formulary(body, p)
      return send(r.duplicate ? 200 : 201, {
        operation: { ...r.operation, status: 'tentative' },
        duplicate: r.duplicate,
      })
    }
    if ((b === 'receipts' || b === 'dispenses') && parts.length === 3 && method === 'POST') {
      const p = signer(node, req, b === 'receipts' ? 'receive-stock' : 'dispense')
      const stock = ready(node.stock)
      const r =
        b === 'receipts'
          ? await stock.receive(await readBody(req, ReceiptRequestSchema), p)
          : await dispense(node, await readBody(req, DispenseRequestSchema), p)
      return send(r.duplicate ? 200 : 201, {
        operation: { ...r.operation, status: 'tentative' },
        duplicate: r.duplicate,
      })
    }
  }
  throw new RouteNotFoundError(`no route ${method} ${path}`)
}

/** Every request ends in a response: named errors map to 4xx, anything else is a 500 with details only in the log. */
export async function handleRequest(
  node: NodeHost,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  let path = '/'
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v)
  try {
    node.sameOrigin.check(req) // DNS rebinding (Host) and cross-site writes (Origin) end here
    const url = new URL(req.url ?? '/', 'http://device.local')
    path = url.pathname
    if (path === '/api' || path.startsWith('/api/')) await route(node, req, res, path, url)
    else if (path === '/fhir' || path.startsWith('/fhir/')) await handleFhir(node, req, res, path)
    else if (req.method === 'GET' || req.method === 'HEAD') await serveStatic(node.webDist, path, res)
    else throw new RouteNotFoundError(`no route ${req.method ?? ''} ${path}`)
  } catch (err) {
    const { status, body } = errorReply(err)
    if (status >= 500 && status !== 503)
      log('request-failed', {
        path: path.split('/').slice(0, 3).join('/'),
        error: err instanceof Error ? err.name : 'unknown',
      })
    // an oversized body was refused before it was all read: close the connection after answering
    if (status === 413) res.setHeader('connection', 'close')
    sendJson(res, status, body)
  }
}
