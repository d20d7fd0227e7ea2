import { Repo, type PeerId } from '@automerge/automerge-repo'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createMeshNode, generateAdminKey, Membership, signEnrolment, type MeshNode } from '@clinic-mesh/mesh'

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

export async function startCluster(n: number): Promise<Cluster> {
  const admin = generateAdminKey()
  const clinicSecret = crypto.getRandomValues(new Uint8Array(32))
  const keys = await Promise.all(Array.from({ length: n }, () => generateKeyPair('Ed25519')))
  const enrolments = keys.map((k, i) =>
    signEnrolment({ clinic: 'bench', devicePeerId: peerIdFromPrivateKey(k).toString(), deviceName: `tablet-${i}` }, admin.secretKey),
  )
  const nodes: MeshNode[] = []
  for (let i = 0; i < n; i++) {
    const membership = new Membership({ clinic: 'bench', adminPublicKeys: [admin.publicKey], enrolments })
    nodes.push(
      await createMeshNode({
        deviceName: `tablet-${i}`,
        privateKey: keys[i]!,
        clinicSecret,
        membership,
        listen: ['/ip4/127.0.0.1/tcp/0'],
        mdns: { enabled: false },
        bootstrap: nodes.flatMap((m) => m.multiaddrs()),
        backoff: { initialMs: 20, maxMs: 500 },
        readyAfterMs: 20,
      }),
    )
  }
  // Sync sessions open once a Repo has connected the adapter: create the repos, then wait for the full mesh.
  const repos = nodes.map((node, i) => new Repo({ network: [node.adapter], peerId: `tablet-${i}` as PeerId, sharePolicy: () => Promise.resolve(true) }))
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
