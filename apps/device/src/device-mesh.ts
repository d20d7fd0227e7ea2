import { createWriteStream } from 'node:fs'
import { join } from 'node:path'
import type { PrivateKey } from '@libp2p/interface'
import {
  Membership,
  RevocationFile,
  createMeshNode,
  type MeshNode,
  type TrafficEvent,
} from '@clinic-mesh/mesh'
import { readClinicFile } from './clinic-file.js'
import type { DeviceConfig } from './device-config.js'
import type { DeviceNodeInit } from './device-node-init.js'
import { log } from './log.js'
import { MeshAddressFile, meshPortOf, withRememberedPort } from './mesh-address-file.js'
import { REVOCATIONS_FILE } from './revocation.js'

/**
 * The device's clinic membership (its enrolment, the clinic file's, the revocations it verified before) and its
 * libp2p mesh node, listening on the port its peers' address books remember when it is free, logging refusals.
 */
export async function startDeviceMesh(
  init: DeviceNodeInit,
  config: DeviceConfig,
  privateKey: PrivateKey,
): Promise<{ mesh: MeshNode; membership: Membership }> {
  const enrolments = [config.enrolment]
  if (config.clinicFile)
    enrolments.push(
      ...(await readClinicFile(config.clinicFile).then(
        (c) => c.enrolments,
        () => [],
      )),
    )
  // revocations this device verified before: kept whatever the membership document says now
  const revocations = new RevocationFile(join(init.dataDir, REVOCATIONS_FILE))
  const membership = new Membership({
    clinic: config.clinic,
    adminPublicKeys: config.adminPublicKeys.map((k) => Buffer.from(k, 'hex')),
    enrolments,
    revocations: await revocations.load(),
    onRevoked: (all) =>
      void revocations
        .save(all)
        .catch((err: unknown) =>
          log('revocations-save-failed', { error: err instanceof Error ? err.name : 'unknown' }),
        ),
  })
  // the address book (DATA/address-book.json): peers' last-known addresses, and our port so theirs stay right
  const addressFile = new MeshAddressFile(init.dataDir)
  const known = await addressFile.load()
  const listen = init.meshListen ?? ['/ip4/0.0.0.0/tcp/0']
  const meshInit = {
    ...trafficLog(process.env.CLINIC_MESH_TRAFFIC_LOG),
    deviceName: config.name,
    membership,
    clinicSecret: Buffer.from(config.clinicSecret, 'hex'),
    privateKey,
    addressBook: known.peers,
    mdns: { enabled: true, interval: init.mdnsIntervalMs ?? 2_000, serviceTag: config.mdnsTag },
  }
  // the remembered port may be taken now: then any free one (peers find us by mDNS, and learn it again)
  const mesh = await createMeshNode({
    ...meshInit,
    listen: withRememberedPort(listen, known.meshPort),
  }).catch((err: unknown) => {
    if (known.meshPort === null) throw err
    log('mesh-port-taken', { port: known.meshPort })
    return createMeshNode({ ...meshInit, listen })
  })
  const saveBook = (): void =>
    void addressFile
      .save({ meshPort: meshPortOf(mesh.multiaddrs()), peers: mesh.addresses() })
      .catch((err: unknown) =>
        log('address-book-save-failed', { error: err instanceof Error ? err.name : 'unknown' }),
      )
  mesh.on('addresses', saveBook)
  if (meshPortOf(mesh.multiaddrs()) !== known.meshPort) saveBook()
  // named mesh refusals in the node's JSON log (ids and error names only)
  mesh.log = () => undefined
  mesh.on('stream-error', (e) => log('mesh-stream-reset', { peer: e.peer, error: e.error.name }))
  mesh.on('refused', (e) => log('mesh-peer-refused', { peer: e.peer, reason: e.reason }))
  return { mesh, membership }
}

/**
 * `CLINIC_MESH_TRAFFIC_LOG=<file>` (debugging, tests): one JSON line per sync message sent or received — time,
 * direction, peer, automerge-repo message type, document id, bytes on the wire.
 */
function trafficLog(path: string | undefined): { onTraffic?: (e: TrafficEvent) => void } {
  if (!path) return {}
  const out = createWriteStream(path, { flags: 'a' })
  return { onTraffic: (e) => out.write(`${JSON.stringify({ t: Date.now(), ...e })}\n`) }
}
