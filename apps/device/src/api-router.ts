import type { IncomingMessage, ServerResponse } from 'node:http'
import { InvalidInputError, isRole, type DeviceId, type Role, type UserId } from '@clinic-mesh/contracts'
import type { Actor } from '@clinic-mesh/records'
import type { DeviceNode } from './device-node.js'
import { ClinicNotReadyError, RouteNotFoundError } from './errors.js'
import { errorReply, field, readJson, sendJson } from './http-util.js'
import { log } from './log.js'
import { serveStatic } from './static-files.js'

export const DEFAULT_USER = 'usr_demo'
export const DEFAULT_ROLE: Role = 'pharmacist'

interface Who {
  user: UserId
  role: Role
}

/** Until the security package lands: `x-user` / `x-role` headers (or the body's user/role), else the demo user. */
function who(req: IncomingMessage, body?: Record<string, unknown>): Who {
  const h = (k: string): string | undefined => {
    const v = req.headers[k]
    return typeof v === 'string' && v !== '' ? v : undefined
  }
  const user = h('x-user') ?? (typeof body?.user === 'string' ? body.user : undefined) ?? DEFAULT_USER
  const role = h('x-role') ?? (typeof body?.role === 'string' ? body.role : undefined) ?? DEFAULT_ROLE
  if (!isRole(role)) throw new InvalidInputError(`unknown role ${JSON.stringify(role)}`)
  if (user.length > 100) throw new InvalidInputError('user is longer than 100 characters')
  return { user: user as UserId, role }
}

function ready<T>(v: T | undefined): T {
  if (v === undefined) throw new ClinicNotReadyError('the clinic is still opening on this device (waiting for a peer that has it)')
  return v
}

async function status(node: DeviceNode): Promise<unknown> {
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
  if (a === 'network' && parts.length === 2 && method === 'POST') {
    const body = await readJson(req)
    await node.setNetwork(field.bool(body, 'mesh'), field.bool(body, 'relay'))
    return send(200, { network: node.network })
  }
  const actor = (w: Who): Actor => ({ user: w.user, device: node.config.deviceId as DeviceId })
  if (a === 'patients') {
    if (parts.length === 2 && method === 'POST') {
      const body = await readJson(req)
      return send(201, await ready(node.records).register(body, actor(who(req, body))))
    }
    if (parts.length === 2 && method === 'GET') {
      const limit = Math.min(Math.max(Number(url.searchParams.get('limit') ?? 20) || 20, 1), 200)
      return send(200, ready(node.records).search(url.searchParams.get('q') ?? '', limit))
    }
    if (b && parts.length === 3 && method === 'GET') return send(200, await ready(node.records).chart(b))
    if (b && c === 'duplicates' && parts.length === 4 && method === 'GET') return send(200, ready(node.records).duplicates(b))
  }
  if (a === 'encounters') {
    if (parts.length === 2 && method === 'POST') {
      const body = await readJson(req)
      return send(201, await ready(node.records).openEncounter(body, actor(who(req, body))))
    }
    if (b && parts.length === 3 && method === 'PATCH') {
      const body = await readJson(req)
      return send(200, await ready(node.records).updateEncounter(b, body, actor(who(req, body))))
    }
  }
  if (a === 'stock') {
    if (parts.length === 2 && method === 'GET') return send(200, await ready(node.stock).stock())
    if ((b === 'receipts' || b === 'dispenses') && parts.length === 3 && method === 'POST') {
      const body = await readJson(req)
      const stock = ready(node.stock)
      const r = b === 'receipts' ? await stock.receive(body, who(req, body)) : await stock.dispense(body, who(req, body))
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
