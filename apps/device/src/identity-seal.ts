import { existsSync } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import {
  type Keyring,
  createKeyFile,
  openField,
  openKeyFile,
  readKeyFileKdf,
  sealField,
} from '@clinic-mesh/security'
import { ConfigError, DeviceSecretRequiredError } from './errors.js'
import type { StorageProtection } from './storage-at-rest.js'

/**
 * `DIR/identity.key`: a key file (random key wrapped under scrypt(device secret), as `device.key`) whose key seals
 * this device's own secrets in `device.json` (the clinic secret), `peer.key` (the libp2p private key) and a joined
 * tablet's `clinic.json`. Separate from `device.key` because a revoked device wipes its data key but keeps its
 * identity (the log still says which device it was). Both files share one kdf (salt and cost), so one scrypt run of
 * the device secret unlocks both.
 */
export const IDENTITY_KEY_FILE = 'identity.key'

/** Seals and opens this device's own secrets (AES-256-GCM, the field's name in the AAD). */
export interface IdentitySealer {
  seal(field: string, plain: Uint8Array): Promise<string>
  open(field: string, sealed: string): Promise<Uint8Array>
}

const opened = new Map<string, Promise<IdentitySealer | undefined>>()

function sealerOf(keyring: Keyring): IdentitySealer {
  return { seal: (f, p) => sealField(keyring, f, p), open: (f, s) => openField(keyring, f, s) }
}

async function open(
  dataDir: string,
  protection: StorageProtection | undefined,
): Promise<IdentitySealer | undefined> {
  const file = join(dataDir, IDENTITY_KEY_FILE)
  if (protection === undefined)
    throw new DeviceSecretRequiredError(
      `${dataDir}: give the device unlock secret with --secret-file PATH or the CLINIC_MESH_DEVICE_SECRET environment variable`,
    )
  if ('plain' in protection) {
    if (existsSync(file))
      throw new ConfigError(
        `${dataDir} holds sealed secrets (${IDENTITY_KEY_FILE}): plain storage refused, give the device secret`,
      )
    return undefined // --plain-storage (benchmarks, the control test): device.json and peer.key stay clear
  }
  if (existsSync(file)) return sealerOf(await openKeyFile(file, protection.secret))
  const pending = `${file}.pending`
  await rm(pending, { force: true })
  // the same kdf as device.key (when it exists): one scrypt run unlocks both at every start
  const dataKeyFile = join(dataDir, 'device.key')
  const keyring = await createKeyFile(
    pending,
    protection.secret,
    existsSync(dataKeyFile) ? { kdf: await readKeyFileKdf(dataKeyFile) } : {},
  )
  await rename(pending, file)
  return sealerOf(keyring)
}

/**
 * The sealer of `dataDir` (its key file created on first use), opened once per process; `undefined` under
 * `--plain-storage`. A wrong secret is `KeyFileError` (`wrong-secret`).
 */
export function identitySealer(
  dataDir: string,
  protection: StorageProtection | undefined,
): Promise<IdentitySealer | undefined> {
  const key = resolve(dataDir)
  let p = opened.get(key)
  if (!p) {
    p = open(dataDir, protection)
    opened.set(key, p)
    p.catch(() => opened.delete(key))
  }
  return p
}

/** The sealer already opened for `dataDir` in this process (saving device.json later in the run). */
export function openedSealer(dataDir: string): Promise<IdentitySealer | undefined> | undefined {
  return opened.get(resolve(dataDir))
}
