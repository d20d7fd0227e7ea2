import { existsSync } from 'node:fs'
import { readdir, rename, rm } from 'node:fs/promises'
import { join, relative, resolve, sep } from 'node:path'
import type { StorageAdapterInterface, StorageKey } from '@automerge/automerge-repo'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import { createKeyFile, openKeyFile, readKeyFileKdf } from '@clinic-mesh/security'
import { EncryptedStorageAdapter } from '@clinic-mesh/storage-encrypted'
import { AtomicNodeFSStorageAdapter, FaultReportingStorage, TEMP_DIR } from '@clinic-mesh/storage-nodefs'
import type { StorageHealthEvent } from '@clinic-mesh/storage-nodefs'
import { ConfigError, DeviceSecretRequiredError } from './errors.js'
import { log } from './log.js'

/** Env var the device unlock secret may come from (else `--secret-file`). */
export const SECRET_ENV = 'CLINIC_MESH_DEVICE_SECRET'
/** Key file in the data dir: the random data key, wrapped under scrypt(device secret). Useless without the secret. */
export const KEY_FILE = 'device.key'
/** The automerge-repo storage directory inside the data dir. */
export const REPO_DIR = 'repo'

/**
 * How the device's automerge-repo storage is protected: encrypted under a data key unlocked by `secret`, or
 * `plain` (explicit opt-out for benchmarks and the at-rest control test; refused once a key file exists).
 */
export type StorageProtection = { readonly secret: string } | { readonly plain: true }

export interface DeviceStorage {
  /** Disk faults come out of it as StorageFullError / StorageUnavailableError. */
  readonly storage: FaultReportingStorage
  readonly encrypted: boolean
  /** Chunks re-written encrypted from an older plain data dir on this start. */
  readonly migrated: number
}

/** Each change of disk health as one log line (`storage-fault` / `storage-recovered`). */
function logHealth({ event, ...fields }: StorageHealthEvent): void {
  log(event, fields)
}

/** The device's stack: fault reporting (507 / 503) over `inner`. */
const faultReporting = (inner: StorageAdapterInterface): FaultReportingStorage =>
  new FaultReportingStorage(inner, { onHealthChange: logHealth })

/** Every file under `dir`, as automerge-repo storage keys (NodeFSStorageAdapter layout: `ab/cdef…/type/hash`). */
async function plainKeys(dir: string): Promise<StorageKey[]> {
  const out: StorageKey[] = []
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) await walk(p)
      else {
        const [a = '', b = '', ...rest] = relative(dir, p).split(sep)
        out.push([a + b, ...rest])
      }
    }
  }
  if (existsSync(dir)) await walk(dir)
  return out
}

/** Re-writes a plain repo dir through the encrypted adapter into a fresh dir, then swaps it in. */
async function migratePlain(
  repoDir: string,
  encrypted: (dir: string) => StorageAdapterInterface,
): Promise<number> {
  const keys = await plainKeys(repoDir)
  if (keys.length === 0) return 0
  const next = `${repoDir}.encrypting`
  await rm(next, { recursive: true, force: true })
  const plain = new NodeFSStorageAdapter(repoDir)
  const target = encrypted(next)
  for (const key of keys) {
    const data = await plain.load(key)
    if (data) await target.save(key, data)
  }
  const old = `${repoDir}.plain-removed`
  await rename(repoDir, old)
  await rename(next, repoDir)
  await rm(old, { recursive: true, force: true })
  return keys.length
}

/**
 * Opens DIR/repo for the Repo. With a secret: opens DIR/device.key (creates it on first start) and wraps the
 * atomic NodeFS adapter (@clinic-mesh/storage-nodefs) in EncryptedStorageAdapter (@clinic-mesh/storage-encrypted); an older plain repo dir is migrated once.
 * Without one: refuses (DeviceSecretRequiredError) unless storage is explicitly `plain` and no key file exists.
 * A wrong secret surfaces as KeyFileError (reason `wrong-secret`) from the security package.
 */
export async function openDeviceStorage(
  dataDir: string,
  protection: StorageProtection | undefined,
): Promise<DeviceStorage> {
  const repoDir = join(dataDir, REPO_DIR)
  const keyFile = join(dataDir, KEY_FILE)
  await rm(join(repoDir, TEMP_DIR), { recursive: true, force: true }) // half-written chunks of a crashed run
  if (protection === undefined) {
    const what = existsSync(keyFile) ? `${dataDir} is encrypted` : `${dataDir} would be stored unencrypted`
    throw new DeviceSecretRequiredError(
      `${what}: give the device unlock secret with --secret-file PATH or the ${SECRET_ENV} environment variable`,
    )
  }
  if ('plain' in protection) {
    if (existsSync(keyFile))
      throw new ConfigError(
        `${dataDir} holds encrypted data (${KEY_FILE}): plain storage refused, give the device secret`,
      )
    return { storage: faultReporting(new AtomicNodeFSStorageAdapter(repoDir)), encrypted: false, migrated: 0 }
  }
  if (protection.secret === '') throw new DeviceSecretRequiredError('the device unlock secret is empty')
  if (existsSync(keyFile)) {
    const keyring = await openKeyFile(keyFile, protection.secret)
    return {
      storage: faultReporting(new EncryptedStorageAdapter(new AtomicNodeFSStorageAdapter(repoDir), keyring)),
      encrypted: true,
      migrated: 0,
    }
  }
  // first encrypted start: the key file appears only once any older plain data is re-written under it, so a
  // crash half-way leaves the plain dir and no key file, and the next start simply migrates again
  const pending = `${keyFile}.pending`
  await rm(pending, { force: true })
  // the kdf of DIR/identity.key when it came first (a tablet joining by code): one scrypt run unlocks both files
  const identityFile = join(dataDir, 'identity.key')
  const keyring = await createKeyFile(
    pending,
    protection.secret,
    existsSync(identityFile) ? { kdf: await readKeyFileKdf(identityFile) } : {},
  )
  const wrap = (dir: string): StorageAdapterInterface =>
    new EncryptedStorageAdapter(new AtomicNodeFSStorageAdapter(dir), keyring)
  const migrated = await migratePlain(repoDir, wrap)
  await rename(pending, keyFile)
  if (migrated > 0) log('storage-migrated-to-encrypted', { chunks: migrated })
  return { storage: faultReporting(wrap(repoDir)), encrypted: true, migrated }
}

/** Refuses a secret file inside the data dir: a secret stored beside the data protects nothing. */
export function checkSecretFileLocation(secretFile: string, dataDir: string): void {
  const rel = relative(resolve(dataDir), resolve(secretFile))
  if (rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep)) {
    throw new ConfigError(
      `the secret file ${secretFile} lies inside the data dir ${dataDir}: keep it elsewhere (a stolen disk must not carry its key)`,
    )
  }
}
