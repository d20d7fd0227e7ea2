/**
 * One tablet of the P10 bench in its own OS process (started as `ip netns exec NS node discovery-child.js` for a
 * namespace, or plainly for loopback): a MeshNode with mDNS on, an automerge-repo Repo to open sync sessions.
 * Reads its DiscoveryInit from the CM_DISCOVERY_INIT environment variable (it passes through `ip netns exec`) and
 * prints one JSON line on stdout for each of: `listening`, `synced` (its first sync session), `error`. Times are
 * ms since this process started (performance.now()) and epoch ms (performance.timeOrigin + now), to line up with
 * the other tablet. Stops on SIGTERM or when its stdin closes (the bench gone).
 */
import { Repo, type PeerId } from '@automerge/automerge-repo'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { createMeshNode, Membership, type Enrolment, type MeshNode } from '@clinic-mesh/mesh'
import { connectedTo } from './mesh-cluster.js'

/** What a discovery child needs (bytes as base64, since it travels in an environment variable). */
export interface DiscoveryInit {
  index: number
  key: string
  adminPublicKey: string
  clinicSecret: string
  enrolments: Enrolment[]
  listen: string
  serviceTag: string
  intervalMs: number
}

/** One line a discovery child prints. */
export type DiscoveryEvent =
  | { event: 'listening'; ms: number; at: number; addrs: string[] }
  | { event: 'synced'; ms: number; at: number; foundBy: string }
  | { event: 'error'; message: string }

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'))
const now = (): { ms: number; at: number } => {
  const ms = performance.now()
  return { ms, at: performance.timeOrigin + ms }
}
const say = (e: DiscoveryEvent): void => void process.stdout.write(JSON.stringify(e) + '\n')

let node: MeshNode | undefined
let repo: Repo | undefined

async function main(): Promise<void> {
  const raw = process.env['CM_DISCOVERY_INIT']
  if (!raw) throw new Error('CM_DISCOVERY_INIT is not set')
  const init = JSON.parse(raw) as DiscoveryInit
  const name = `tablet-${init.index}`
  node = await createMeshNode({
    deviceName: name,
    privateKey: privateKeyFromProtobuf(b64(init.key)),
    clinicSecret: b64(init.clinicSecret),
    membership: new Membership({
      clinic: 'bench',
      adminPublicKeys: [b64(init.adminPublicKey)],
      enrolments: init.enrolments,
    }),
    listen: [init.listen],
    mdns: { enabled: true, interval: init.intervalMs, serviceTag: init.serviceTag },
    backoff: { initialMs: 50, maxMs: 1000 },
    readyAfterMs: 50,
  })
  // the repo starts the sync protocol: a peer counts once its sync session is open
  repo = new Repo({
    network: [node.adapter],
    peerId: name as PeerId,
    sharePolicy: () => Promise.resolve(true),
  })
  say({ event: 'listening', ...now(), addrs: node.multiaddrs() })
  await connectedTo(node, 1)
  say({ event: 'synced', ...now(), foundBy: node.peers()[0]?.foundBy ?? '' })
}

async function stop(code: number): Promise<never> {
  await repo?.shutdown().catch(() => undefined)
  await node?.stop().catch(() => undefined)
  process.exit(code)
}

process.on('SIGTERM', () => void stop(0))
process.stdin.on('end', () => void stop(0))
process.stdin.resume()
main().catch((err: unknown) => {
  say({ event: 'error', message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) })
  void stop(1)
})
