import { Repo, type AutomergeUrl, type DocHandle } from '@automerge/automerge-repo'
import type { PeerId } from '@automerge/automerge-repo'
import { eventually } from '@clinic-mesh/testing'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createMeshNode, generateAdminKey, Membership, signEnrolment } from '@clinic-mesh/mesh'
import type { AdminKeyPair, Enrolment, MeshInit, MeshNode } from '@clinic-mesh/mesh'

/** Test fixture: a clinic (admin key + secret) and its devices. Seeded-free: keys are random, ports are 0. */
export interface TestClinic {
  clinic: string
  admin: AdminKeyPair
  secret: Uint8Array
}

export interface TestDevice {
  key: PrivateKey
  id: string
  name: string
  enrolment: Enrolment
}

export function makeClinic(clinic = 'clinic-a'): TestClinic {
  return { clinic, admin: generateAdminKey(), secret: crypto.getRandomValues(new Uint8Array(32)) }
}

export async function makeDevice(c: TestClinic, name: string): Promise<TestDevice> {
  const key = await generateKeyPair('Ed25519')
  const id = peerIdFromPrivateKey(key).toString()
  return {
    key,
    id,
    name,
    enrolment: signEnrolment({ clinic: c.clinic, devicePeerId: id, deviceName: name }, c.admin.secretKey),
  }
}

export function membershipOf(c: TestClinic, devices: TestDevice[]): Membership {
  return new Membership({
    clinic: c.clinic,
    adminPublicKeys: [c.admin.publicKey],
    enrolments: devices.map((d) => d.enrolment),
  })
}

export function startNode(
  c: TestClinic,
  device: TestDevice,
  members: TestDevice[],
  extra: Partial<MeshInit> = {},
): Promise<MeshNode> {
  return createMeshNode({
    deviceName: device.name,
    privateKey: device.key,
    clinicSecret: c.secret,
    membership: membershipOf(c, members),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    mdns: { enabled: false },
    backoff: { initialMs: 50, maxMs: 1000 },
    readyAfterMs: 50,
    ...extra,
  })
}

/** Resolves once `node` has a live sync session with each of `ids` (libp2p peer ids). */
export function syncedWith(node: MeshNode, ids: string[], timeoutMs = 10_000): Promise<true> {
  return eventually(() => ids.every((id) => node.peers().some((p) => p.id === id)), {
    on: [[node, 'peers']],
    timeoutMs,
    what: `${node.peerId} synced with ${ids.join(', ')}`,
  })
}

/** Resolves once `node` has no sync session with `id`. */
export function apartFrom(node: MeshNode, id: string, timeoutMs = 10_000): Promise<true> {
  return eventually(() => !node.peers().some((p) => p.id === id), {
    on: [[node, 'peers']],
    timeoutMs,
    what: `${node.peerId} apart from ${id}`,
  })
}

export function repoOn(node: MeshNode, name: string): Repo {
  return new Repo({
    network: [node.adapter],
    peerId: name as PeerId,
    sharePolicy: () => Promise.resolve(true),
  })
}

/**
 * Finds a document that a peer holds, waiting for the repo to have met that peer: a libp2p connection can be
 * up a moment before automerge-repo has processed the peer, and a plain find() then answers "unavailable".
 */
export async function findShared<T>(repo: Repo, url: AutomergeUrl): Promise<DocHandle<T>> {
  const handle = await repo.find<T>(url, { allowableStates: ['ready', 'unavailable'] })
  if (handle.state !== 'ready') await handle.whenReady(['ready'])
  return handle
}
