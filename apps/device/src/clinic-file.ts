import { open, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import type { Enrolment } from '@clinic-mesh/mesh'
import { ConfigError } from './errors.js'

/**
 * What a device needs to join a clinic, handed to it at start (`--clinic-file`). The file a founder writes at
 * `--init-clinic` holds no secret: the clinic secret goes sealed into its device.json and the admin key wrapped
 * under the first admin's password into its admin-key.json; tablets enrol through the join-code flow
 * (docs/protocols/sync.md §8.3), which writes the joined tablet's clinic file with the clinic secret sealed for it.
 * A launcher that enrols its own devices through one shared file (the demo, tests) asks for the clinic secret and
 * admin key in clear in it with `CLINIC_MESH_SHARED_CLINIC_FILE=1`; that file must then be treated like a password.
 */
export interface ClinicFile {
  kind: 'clinic-mesh/clinic/1'
  clinic: string
  name: string
  /** Stock location of this clinic's devices (ledger `site`). */
  site: string
  /** hex, 32 bytes; only in a launcher's shared file (CLINIC_MESH_SHARED_CLINIC_FILE=1) */
  clinicSecret?: string
  /** The clinic secret sealed under the identity key of the one device this file was written for (a joined tablet). */
  clinicSecretSealed?: string
  /** hex Ed25519 public keys */
  adminPublicKeys: string[]
  /** hex; present only where the launcher holds the admin key (demo, tests) */
  adminSecretKey?: string
  /** The ClinicDirectoryDoc, once the first device created it. */
  directoryUrl?: string
  /** mDNS service tag shared by the clinic's devices. */
  mdnsTag: string
  enrolments: Enrolment[]
}

export async function readClinicFile(file: string): Promise<ClinicFile> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new ConfigError(`cannot read clinic file ${file}: ${(err as Error).message}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new ConfigError(`clinic file ${file} is not JSON`)
  }
  const c = parsed as Partial<ClinicFile>
  if (
    c.kind !== 'clinic-mesh/clinic/1' ||
    typeof c.clinic !== 'string' ||
    !Array.isArray(c.adminPublicKeys)
  ) {
    throw new ConfigError(`${file} is not a clinic file`)
  }
  return { ...c, enrolments: Array.isArray(c.enrolments) ? c.enrolments : [] } as ClinicFile
}

/** The launcher asked for a shared clinic file holding the clinic secret and admin key in clear (demo, tests). */
export function sharesClinicSecrets(): boolean {
  return process.env.CLINIC_MESH_SHARED_CLINIC_FILE === '1'
}

/** Atomic write (temp file + rename), so a reader never sees half a file. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 })
  await rename(tmp, file)
}

/**
 * Read-modify-write of the clinic file under a lock file, so devices started at the same moment (each adding its
 * own enrolment) do not overwrite each other.
 */
export async function updateClinicFile(file: string, fn: (c: ClinicFile) => ClinicFile): Promise<ClinicFile> {
  const lock = `${file}.lock`
  const deadline = Date.now() + 10_000
  for (;;) {
    try {
      const fh = await open(lock, 'wx')
      await fh.close()
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      if (Date.now() > deadline) await rm(lock, { force: true }) // a launcher died holding it
      await new Promise((r) => setTimeout(r, 10 + Math.random() * 20))
    }
  }
  try {
    const next = fn(existsSync(file) ? await readClinicFile(file) : (undefined as never))
    await writeJsonAtomic(file, next)
    return next
  } finally {
    await rm(lock, { force: true })
  }
}
