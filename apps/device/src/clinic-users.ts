import type { AutomergeUrl, DocHandle, Repo } from '@automerge/automerge-repo'
import type { ClinicDirectoryDoc, DocUrl } from '@clinic-mesh/contracts'
import { findDoc } from '@clinic-mesh/store'
import { DeviceAuth, type UserRegisterDoc } from './auth.js'
import { bootstrapUsers, loginPolicyFromEnv } from './auth-bootstrap.js'
import { readClinicFile } from './clinic-file.js'
import type { DeviceConfig } from './device-config.js'
import { ConfigError } from './errors.js'

/** The clinic admin secret key from the founding device's clinic file (it endorses the first users). */
async function clinicAdminKey(config: DeviceConfig): Promise<Uint8Array> {
  const clinic = config.clinicFile ? await readClinicFile(config.clinicFile) : undefined
  if (!clinic?.adminSecretKey)
    throw new ConfigError(
      'the founding device needs the clinic admin key (its clinic file) to endorse the first users',
    )
  return Buffer.from(clinic.adminSecretKey, 'hex')
}

/** The clinic's user register (created with the clinic; the founder also creates the first admin). */
export async function openClinicUsers(
  repo: Repo,
  dir: DocHandle<ClinicDirectoryDoc>,
  config: DeviceConfig,
  dataDir: string,
): Promise<DeviceAuth> {
  let url = dir.doc().users
  if (!url) {
    // a clinic created before users existed: the first device to open it adds the register
    const created = repo.create<UserRegisterDoc>({ kind: 'user-register/1', users: {} })
    dir.change((d) => {
      d.users ??= created.url as string as DocUrl
    })
    url = dir.doc().users
  }
  const register = await findDoc<UserRegisterDoc>(repo, url as string as AutomergeUrl)
  const auth = await DeviceAuth.open(register, {
    dataDir,
    rootKeys: config.adminPublicKeys,
    flush: () => repo.flush([register.documentId]),
    ...loginPolicyFromEnv(),
  })
  if (config.founder) await bootstrapUsers(auth, dataDir, () => clinicAdminKey(config))
  return auth
}
