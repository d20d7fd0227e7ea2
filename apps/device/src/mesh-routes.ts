import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  InvalidInputError,
  MeshDialRequestSchema,
  type MeshDialReply,
  type MeshStatus,
} from '@clinic-mesh/contracts'
import type { MeshNode } from '@clinic-mesh/mesh'
import { PeerUnreachableError } from './errors.js'
import { readBody, sendJson } from './http-util.js'
import type { SessionHost } from './node-host.js'
import { ready, who } from './route-context.js'

/** The LAN side of `GET /api/status`: own addresses, mDNS per link, and why no device is in reach. */
export function meshStatus(mesh: MeshNode): MeshStatus {
  const d = mesh.discovery()
  return {
    addresses: d.addresses,
    links: d.mdns?.links ?? [],
    multicastRoute: d.multicastRoute,
    addressBook: d.addressBook.peers,
    alone: d.alone,
  }
}

/** `host:port` (IPv4) or a multiaddr → a multiaddr; anything else is refused before dialling. */
export function dialAddress(text: string): string {
  if (text.startsWith('/ip4/') || text.startsWith('/ip6/')) return text
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(text)
  const port = m ? Number(m[2]) : 0
  if (!m || port < 1 || port > 65535)
    throw new InvalidInputError('give an address as IPv4:port (e.g. 169.254.10.2:41234) or a multiaddr')
  return `/ip4/${m[1]}/tcp/${port}`
}

/** `POST /api/mesh/dial` (admin): connect to a device by address when mDNS cannot find it. */
export async function meshRoute(
  node: SessionHost & { readonly mesh: MeshNode },
  req: IncomingMessage,
  res: ServerResponse,
  parts: string[],
): Promise<boolean> {
  const [, a, b] = parts
  if (a !== 'mesh' || b !== 'dial' || parts.length !== 3 || req.method !== 'POST') return false
  who(node, req, 'enrol-device')
  const body = await readBody(req, MeshDialRequestSchema)
  const address = dialAddress(body.address)
  let peerId: string
  try {
    peerId = await ready(node.mesh).dial(address)
  } catch (err) {
    throw new PeerUnreachableError(
      `${address} did not answer as a device of this clinic (${err instanceof Error ? err.name : 'error'})`,
    )
  }
  const reply: MeshDialReply = { peerId, address }
  sendJson(res, 200, reply)
  return true
}
