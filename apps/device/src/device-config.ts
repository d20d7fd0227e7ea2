import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { newId } from '@clinic-mesh/contracts'
import { generateAdminKey, signEnrolment, type Enrolment } from '@clinic-mesh/mesh'
import { readClinicFile, updateClinicFile, writeJsonAtomic, type ClinicFile } from './clinic-file.js'
import { ConfigError } from './errors.js'

/** `DIR/device.json`: who this device is and which clinic it belongs to. */
export interface DeviceConfig {
  kind: 'clinic-mesh/device/1'
  deviceId: string
  name: string
  clinic: string
  clinicName: string
  site: string
  clinicSecret: string
  adminPublicKeys: string[]
  mdnsTag: string
  enrolment: Enrolment
  /** Path of the clinic file this device was started with (re-read for new enrolments). */
  clinicFile?: string
  /** Set once the clinic directory is known. */
  directoryUrl?: string
  /** This device creates the clinic's documents (it was started with --init-clinic). */
  founder?: boolean
  /**
   * hex Ed25519 public key of the relay, pinned at the first successful registration (or given with --relay-key):
   * the settled inventory and conflict queue must carry its signature; a relay answering with another key is refused.
   */
  relayKey?: string
}

export interface LoadedDevice {
  config: DeviceConfig
  privateKey: PrivateKey
  peerId: string
}

export interface LoadInit {
  dataDir: string
  name: string
  clinicFile?: string
  /** Create a new clinic of this name (writes the clinic file). */
  initClinic?: string
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

async function loadKey(dataDir: string): Promise<PrivateKey> {
  const file = join(dataDir, 'peer.key')
  if (existsSync(file)) return privateKeyFromProtobuf(await readFile(file))
  const key = await generateKeyPair('Ed25519')
  await writeFile(file, privateKeyToProtobuf(key), { mode: 0o600 })
  return key
}

/** This device's libp2p peer id (its key is created on first use), e.g. to enrol before the first start. */
export async function devicePeerId(dataDir: string): Promise<string> {
  await mkdir(dataDir, { recursive: true })
  return peerIdFromPrivateKey(await loadKey(dataDir)).toString()
}

/** A new clinic: admin key, clinic secret, ids. The caller writes it where devices can read it. */
export function newClinicFile(name: string): ClinicFile {
  const admin = generateAdminKey()
  const clinic = newId<string>('clinic').slice(0, 23)
  return {
    kind: 'clinic-mesh/clinic/1',
    clinic,
    name,
    site: 'site-main',
    clinicSecret: hex(crypto.getRandomValues(new Uint8Array(32))),
    adminPublicKeys: [hex(admin.publicKey)],
    adminSecretKey: hex(admin.secretKey),
    mdnsTag: `clinic-mesh-${clinic.slice(7, 15)}`,
    enrolments: [],
  }
}

/** This device's enrolment from the clinic file, signing (and recording) one if the file holds the admin key. */
async function enrol(clinicFile: string, peerId: string, name: string): Promise<{ clinic: ClinicFile; enrolment: Enrolment }> {
  const existing = await readClinicFile(clinicFile)
  const found = existing.enrolments.find((e) => e.devicePeerId === peerId)
  if (found) return { clinic: existing, enrolment: found }
  if (!existing.adminSecretKey) {
    throw new ConfigError(`device ${peerId} is not enrolled in ${existing.clinic} and ${clinicFile} holds no admin key`)
  }
  let enrolment: Enrolment | undefined
  const clinic = await updateClinicFile(clinicFile, (c) => {
    enrolment = signEnrolment({ clinic: c.clinic, devicePeerId: peerId, deviceName: name }, Buffer.from(c.adminSecretKey ?? '', 'hex'))
    return { ...c, enrolments: [...c.enrolments.filter((e) => e.devicePeerId !== peerId), enrolment] }
  })
  return { clinic, enrolment: enrolment as Enrolment }
}

/** Loads `DIR/device.json` and `DIR/peer.key`, creating them (and the clinic, with --init-clinic) on first start. */
export async function loadDevice(init: LoadInit): Promise<LoadedDevice> {
  await mkdir(init.dataDir, { recursive: true })
  const privateKey = await loadKey(init.dataDir)
  const peerId = peerIdFromPrivateKey(privateKey).toString()
  const configFile = join(init.dataDir, 'device.json')
  if (existsSync(configFile)) {
    const config = JSON.parse(await readFile(configFile, 'utf8')) as DeviceConfig
    if (config.enrolment.devicePeerId !== peerId) throw new ConfigError(`${configFile} belongs to another key than ${init.dataDir}/peer.key`)
    if (init.clinicFile && !config.clinicFile) config.clinicFile = init.clinicFile
    return { config, privateKey, peerId }
  }
  let clinicFile = init.clinicFile
  if (init.initClinic !== undefined) {
    clinicFile ??= join(init.dataDir, 'clinic.json')
    if (existsSync(clinicFile)) throw new ConfigError(`${clinicFile} exists already: start with --clinic-file to join that clinic`)
    await writeJsonAtomic(clinicFile, newClinicFile(init.initClinic))
  }
  if (!clinicFile) throw new ConfigError('a new device needs --clinic-file FILE (or --init-clinic NAME to create a clinic)')
  const { clinic, enrolment } = await enrol(clinicFile, peerId, init.name)
  const config: DeviceConfig = {
    kind: 'clinic-mesh/device/1',
    deviceId: newId<string>('dev').slice(0, 20),
    name: init.name,
    clinic: clinic.clinic,
    clinicName: clinic.name,
    site: clinic.site,
    clinicSecret: clinic.clinicSecret,
    adminPublicKeys: clinic.adminPublicKeys,
    mdnsTag: clinic.mdnsTag,
    enrolment,
    clinicFile,
    ...(clinic.directoryUrl ? { directoryUrl: clinic.directoryUrl } : {}),
    ...(init.initClinic !== undefined ? { founder: true } : {}),
  }
  await saveDeviceConfig(init.dataDir, config)
  return { config, privateKey, peerId }
}

export async function saveDeviceConfig(dataDir: string, config: DeviceConfig): Promise<void> {
  await writeJsonAtomic(join(dataDir, 'device.json'), config)
}
