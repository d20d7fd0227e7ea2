import { existsSync } from 'node:fs'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { newId } from '@clinic-mesh/contracts'
import { generateAdminKey, signEnrolment, type Enrolment } from '@clinic-mesh/mesh'
import { ADMIN_KEY_FILE, FIRST_ADMIN, initialAdminPassword, wrapAdminKey } from './admin-key.js'
import {
  readClinicFile,
  sharesClinicSecrets,
  updateClinicFile,
  writeJsonAtomic,
  type ClinicFile,
} from './clinic-file.js'
import { ConfigError } from './errors.js'
import { IDENTITY_KEY_FILE, identitySealer, openedSealer, type IdentitySealer } from './identity-seal.js'
import { log } from './log.js'
import type { StorageProtection } from './storage-at-rest.js'

/** `DIR/device.json`: who this device is and which clinic it belongs to. */
export interface DeviceConfig {
  kind: 'clinic-mesh/device/1'
  deviceId: string
  name: string
  clinic: string
  clinicName: string
  site: string
  /** hex; in memory only: on disk it is `clinicSecretSealed` (under DIR/identity.key), except with --plain-storage */
  clinicSecret: string
  /** The clinic secret sealed under this device's identity key (identity-seal.ts). */
  clinicSecretSealed?: string
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
   * A founder's `--expected-charts N`: the clinic's documents are made for that many charts (store `chartBucketsFor`);
   * absent: the default 64 chart buckets. Read once, when the documents are created.
   */
  expectedCharts?: number
  /**
   * hex Ed25519 public key of the relay, pinned at the first successful registration (or given with --relay-key):
   * the settled inventory and conflict queue must carry its signature; a relay answering with another key is refused.
   */
  relayKey?: string
  /**
   * This device's history window (issue 17 #3): calendar years of closed visits it holds, counted back from this one
   * (1: this year, no archive); absent: every year. Set with `--history-years N|all`.
   */
  historyYears?: number
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
  /** With `initClinic`: how many charts the clinic is expected to hold. */
  expectedCharts?: number
  /** The device secret (or --plain-storage): seals device.json's clinic secret and peer.key. */
  storage?: StorageProtection
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

const PEER_KEY_FORMAT = 'clinic-mesh/sealed-peer-key/1'

/** Writes a file through a temp file + rename: a crash leaves the old file or the new one, never half of one. */
async function writeAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(tmp, data, { mode: 0o600 })
  await rename(tmp, file)
}

/**
 * `DIR/peer.key`: the libp2p private key (protobuf), sealed under the identity key (JSON `{format, sealed}`);
 * clear protobuf only with --plain-storage. An older clear file is re-written sealed on the first start with a secret.
 */
async function loadKey(dataDir: string, sealer: IdentitySealer | undefined): Promise<PrivateKey> {
  const file = join(dataDir, 'peer.key')
  const store = async (key: PrivateKey): Promise<void> => {
    const pb = privateKeyToProtobuf(key)
    await writeAtomic(
      file,
      sealer
        ? `${JSON.stringify({ format: PEER_KEY_FORMAT, sealed: await sealer.seal('peer.key', pb) })}\n`
        : pb,
    )
  }
  if (existsSync(file)) {
    const data = await readFile(file)
    if (data[0] === 0x7b) {
      // '{': the sealed form
      const parsed = JSON.parse(data.toString('utf8')) as { format?: string; sealed?: string }
      if (parsed.format !== PEER_KEY_FORMAT || typeof parsed.sealed !== 'string')
        throw new ConfigError(`${file} is not a peer key`)
      if (!sealer) throw new ConfigError(`${file} is sealed: give the device secret`)
      return privateKeyFromProtobuf(await sealer.open('peer.key', parsed.sealed))
    }
    const key = privateKeyFromProtobuf(data)
    if (sealer) {
      await store(key)
      log('peer-key-sealed', {})
    }
    return key
  }
  const key = await generateKeyPair('Ed25519')
  await store(key)
  return key
}

/**
 * This device's libp2p peer id (its key is created on first use, sealed under the device secret), e.g. to enrol
 * before the first start.
 */
export async function devicePeerId(dataDir: string, storage?: StorageProtection): Promise<string> {
  await mkdir(dataDir, { recursive: true })
  return peerIdFromPrivateKey(await loadKey(dataDir, await identitySealer(dataDir, storage))).toString()
}

/** The clinic secret of a clinic file: clear (a launcher's shared file) or sealed for this device (a joined tablet's). */
async function clinicSecretOf(
  clinic: ClinicFile,
  sealer: IdentitySealer | undefined,
  file: string,
): Promise<string> {
  if (clinic.clinicSecret) return clinic.clinicSecret
  if (clinic.clinicSecretSealed && sealer)
    return hex(await sealer.open('clinicSecret', clinic.clinicSecretSealed))
  throw new ConfigError(`${file} holds no clinic secret this device can read`)
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

/**
 * A new clinic created by its founding device: the admin key is wrapped under the first admin's password into
 * DIR/admin-key.json before anything else is written, the founder's enrolment is signed in memory, and the clinic
 * file written holds no secret (unless a launcher shares it: `CLINIC_MESH_SHARED_CLINIC_FILE=1`, clinic-file.ts).
 */
async function foundClinic(
  init: LoadInit,
  clinicFile: string,
  peerId: string,
): Promise<{ clinic: ClinicFile; enrolment: Enrolment }> {
  const fresh = newClinicFile(init.initClinic ?? '')
  const adminKey = Buffer.from(fresh.adminSecretKey ?? '', 'hex')
  try {
    const password = await initialAdminPassword(init.dataDir)
    await wrapAdminKey(init.dataDir, FIRST_ADMIN, password ?? '', adminKey, fresh.adminPublicKeys[0] ?? '')
    const enrolment = signEnrolment(
      { clinic: fresh.clinic, devicePeerId: peerId, deviceName: init.name },
      adminKey,
    )
    const { clinicSecret, adminSecretKey, ...open } = fresh
    const shared = sharesClinicSecrets()
    await writeJsonAtomic(
      clinicFile,
      shared ? { ...fresh, enrolments: [enrolment] } : { ...open, enrolments: [enrolment] },
    )
    log('clinic-created', {
      adminKeyFile: join(init.dataDir, ADMIN_KEY_FILE),
      clinicFileHoldsSecrets: shared,
    })
    return {
      clinic: { ...open, clinicSecret, ...(shared ? { adminSecretKey } : {}), enrolments: [enrolment] },
      enrolment,
    }
  } finally {
    adminKey.fill(0)
  }
}

/** This device's enrolment from the clinic file, signing (and recording) one if the file holds the admin key. */
async function enrol(
  clinicFile: string,
  peerId: string,
  name: string,
): Promise<{ clinic: ClinicFile; enrolment: Enrolment }> {
  const existing = await readClinicFile(clinicFile)
  const found = existing.enrolments.find((e) => e.devicePeerId === peerId)
  if (found) return { clinic: existing, enrolment: found }
  if (!existing.adminSecretKey) {
    throw new ConfigError(
      `device ${peerId} is not enrolled in ${existing.clinic} and ${clinicFile} holds no admin key`,
    )
  }
  let enrolment: Enrolment | undefined
  const clinic = await updateClinicFile(clinicFile, (c) => {
    enrolment = signEnrolment(
      { clinic: c.clinic, devicePeerId: peerId, deviceName: name },
      Buffer.from(c.adminSecretKey ?? '', 'hex'),
    )
    return { ...c, enrolments: [...c.enrolments.filter((e) => e.devicePeerId !== peerId), enrolment] }
  })
  return { clinic, enrolment: enrolment as Enrolment }
}

/** Loads `DIR/device.json` and `DIR/peer.key`, creating them (and the clinic, with --init-clinic) on first start. */
export async function loadDevice(init: LoadInit): Promise<LoadedDevice> {
  await mkdir(init.dataDir, { recursive: true })
  const sealer = await identitySealer(init.dataDir, init.storage)
  const privateKey = await loadKey(init.dataDir, sealer)
  const peerId = peerIdFromPrivateKey(privateKey).toString()
  const configFile = join(init.dataDir, 'device.json')
  if (existsSync(configFile)) {
    const stored = JSON.parse(await readFile(configFile, 'utf8')) as DeviceConfig
    if (stored.enrolment.devicePeerId !== peerId)
      throw new ConfigError(`${configFile} belongs to another key than ${init.dataDir}/peer.key`)
    const { clinicSecretSealed, ...config } = stored
    if (clinicSecretSealed !== undefined) {
      if (!sealer) throw new ConfigError(`${configFile} is sealed: give the device secret`)
      config.clinicSecret = hex(await sealer.open('clinicSecret', clinicSecretSealed))
    } else if (sealer) {
      // an older clear config: re-written sealed (atomically) on this first start with a secret
      await saveDeviceConfig(init.dataDir, config)
      log('device-config-sealed', {})
    }
    if (init.clinicFile && !config.clinicFile) config.clinicFile = init.clinicFile
    return { config, privateKey, peerId }
  }
  let clinicFile = init.clinicFile
  let founded: { clinic: ClinicFile; enrolment: Enrolment } | undefined
  if (init.initClinic !== undefined) {
    clinicFile ??= join(init.dataDir, 'clinic.json')
    if (existsSync(clinicFile))
      throw new ConfigError(`${clinicFile} exists already: start with --clinic-file to join that clinic`)
    founded = await foundClinic(init, clinicFile, peerId)
  }
  if (!clinicFile)
    throw new ConfigError('a new device needs --clinic-file FILE (or --init-clinic NAME to create a clinic)')
  const { clinic, enrolment } = founded ?? (await enrol(clinicFile, peerId, init.name))
  const config: DeviceConfig = {
    kind: 'clinic-mesh/device/1',
    deviceId: newId<string>('dev').slice(0, 20),
    name: init.name,
    clinic: clinic.clinic,
    clinicName: clinic.name,
    site: clinic.site,
    clinicSecret: await clinicSecretOf(clinic, sealer, clinicFile),
    adminPublicKeys: clinic.adminPublicKeys,
    mdnsTag: clinic.mdnsTag,
    enrolment,
    clinicFile,
    ...(clinic.directoryUrl ? { directoryUrl: clinic.directoryUrl } : {}),
    ...(init.initClinic !== undefined ? { founder: true } : {}),
    ...(init.initClinic !== undefined && init.expectedCharts !== undefined
      ? { expectedCharts: init.expectedCharts }
      : {}),
  }
  await saveDeviceConfig(init.dataDir, config)
  return { config, privateKey, peerId }
}

/** Writes DIR/device.json (atomic): the clinic secret sealed, unless this device runs with --plain-storage. */
export async function saveDeviceConfig(dataDir: string, config: DeviceConfig): Promise<void> {
  const sealer = await openedSealer(dataDir)
  if (!sealer && existsSync(join(dataDir, IDENTITY_KEY_FILE)))
    throw new ConfigError(`${dataDir}: device.json is sealed, its key is not open in this process`)
  const { clinicSecret, clinicSecretSealed: _old, ...rest } = config
  const onDisk = sealer
    ? { ...rest, clinicSecretSealed: await sealer.seal('clinicSecret', Buffer.from(clinicSecret, 'hex')) }
    : { ...rest, clinicSecret }
  await writeJsonAtomic(join(dataDir, 'device.json'), onDisk)
}
