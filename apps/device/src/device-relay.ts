import { isValidAutomergeUrl, parseAutomergeUrl, type DocHandle, type Repo } from '@automerge/automerge-repo'
import type { ClinicDirectoryDoc } from '@clinic-mesh/contracts'
import type { Membership } from '@clinic-mesh/mesh'
import { saveDeviceConfig, type DeviceConfig } from './device-config.js'
import type { DeviceNodeInit } from './device-node-init.js'
import { RelayLink } from './relay-link.js'

/** What a device node's link to its central relay is made from (see `DeviceNode`). */
export interface DeviceRelayDeps {
  repo: Repo
  init: DeviceNodeInit & { relay: string }
  config: DeviceConfig
  directoryUrl: string
  directory: () => DocHandle<ClinicDirectoryDoc> | undefined
  peerId: string
  deviceSigningKey: Uint8Array
  membership: Membership
}

/**
 * The device's link to the relay (`--relay`): it registers the clinic under this device's enrolment, signs with the
 * device key, keeps the relay-only documents (settled inventory, conflict queue) to the relay, and pins the relay's
 * key in `device.json` the first time it meets it. Not started: the node starts it when the relay switch is on.
 */
export function createDeviceRelayLink(d: DeviceRelayDeps): RelayLink {
  const reg = { clinic: d.config.clinic, directoryUrl: d.directoryUrl, peerId: d.config.deviceId }
  const creds = {
    devicePeerId: d.peerId,
    deviceSeed: d.deviceSigningKey,
    enrolment: () => d.membership.enrolments().find((e) => e.devicePeerId === d.peerId),
    adminPublicKeys: d.config.adminPublicKeys,
    relayOnlyDocs: () => {
      const s = d.directory()?.doc().settlement
      return [s?.inventory, s?.conflicts].flatMap((u) =>
        u && isValidAutomergeUrl(u) ? [parseAutomergeUrl(u).documentId as string] : [],
      )
    },
    relayKey: {
      pinned: () => d.config.relayKey,
      pin: async (key: string) => {
        d.config.relayKey = key
        await saveDeviceConfig(d.init.dataDir, d.config)
      },
    },
  }
  const transport = {
    ...(d.init.relayCa === undefined ? {} : { ca: d.init.relayCa }),
    insecure: d.init.insecureRelay === true,
  }
  return new RelayLink(d.repo, d.init.relay, reg, creds, () => d.repo.shareConfigChanged(), transport)
}
