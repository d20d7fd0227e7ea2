import { Repo, type PeerId } from '@automerge/automerge-repo'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import {
  createMeshNode,
  generateAdminKey,
  Membership,
  signEnrolment,
  type Enrolment,
  type MeshInit,
  type MeshNode,
} from '@clinic-mesh/mesh'

/** n device meshes on loopback in this process: real libp2p (TCP, pnet, noise, yamux), one repo each. */
export interface Cluster {
  nodes: MeshNode[]
  repos: Repo[]
  stop(): Promise<void>
}

function connectedTo(node: MeshNode, count: number): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (node.peers().length >= count) {
        node.removeEventListener('peers', check)
        resolve()
      }
    }
    node.addEventListener('peers', check)
    check()
  })
}

/** What the admin hands out for a clinic of n tablets: the clinic secret, each device's key and signed enrolment. */
export interface ClinicKeys {
  adminPublicKey: Uint8Array
  clinicSecret: Uint8Array
  keys: PrivateKey[]
  enrolments: Enrolment[]
}

export async function clinicKeys(n: number): Promise<ClinicKeys> {
  const admin = generateAdminKey()
  const clinicSecret = crypto.getRandomValues(new Uint8Array(32))
  const keys = await Promise.all(Array.from({ length: n }, () => generateKeyPair('Ed25519')))
  const enrolments = keys.map((k, i) =>
    signEnrolment(
      { clinic: 'bench', devicePeerId: peerIdFromPrivateKey(k).toString(), deviceName: `tablet-${i}` },
      admin.secretKey,
    ),
  )
  return { adminPublicKey: admin.publicKey, clinicSecret, keys, enrolments }
}

/** The MeshNode options of tablet i of the bench clinic: loopback TCP, no mDNS, fast redial. */
export function meshInit(
  c: Omit<ClinicKeys, 'keys'>,
  i: number,
  privateKey: PrivateKey,
  bootstrap: string[],
): MeshInit {
  return {
    deviceName: `tablet-${i}`,
    privateKey,
    clinicSecret: c.clinicSecret,
    membership: new Membership({
      clinic: 'bench',
      adminPublicKeys: [c.adminPublicKey],
      enrolments: c.enrolments,
    }),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    mdns: { enabled: false },
    bootstrap,
    backoff: { initialMs: 20, maxMs: 500 },
    readyAfterMs: 20,
  }
}

export async function startCluster(n: number): Promise<Cluster> {
  const clinic = await clinicKeys(n)
  const nodes: MeshNode[] = []
  for (let i = 0; i < n; i++)
    nodes.push(
      await createMeshNode(
        meshInit(
          clinic,
          i,
          clinic.keys[i]!,
          nodes.flatMap((m) => m.multiaddrs()),
        ),
      ),
    )
  // Sync sessions open once a Repo has connected the adapter: create the repos, then wait for the full mesh.
  const repos = nodes.map(
    (node, i) =>
      new Repo({
        network: [node.adapter],
        peerId: `tablet-${i}` as PeerId,
        sharePolicy: () => Promise.resolve(true),
      }),
  )
  await Promise.all(nodes.map((node) => connectedTo(node, n - 1)))
  return {
    nodes,
    repos,
    async stop() {
      await Promise.all(repos.map((r) => r.shutdown()))
      await Promise.all(nodes.map((node) => node.stop()))
    },
  }
}

export { connectedTo }
