import { join } from 'node:path'
import type { AutomergeUrl, StorageAdapterInterface } from '@automerge/automerge-repo'
import { Repo } from '@automerge/automerge-repo'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import { createKeyFile, openKeyFile } from '@clinic-mesh/security'
import { EncryptedStorageAdapter } from '@clinic-mesh/storage-encrypted'
import { tempDir } from '@clinic-mesh/testing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { TEST_SCRYPT, allFiles } from './helpers.js'

interface PatientDoc {
  name: string
  diagnosis: string
}

const PATIENTS: PatientDoc[] = [
  { name: 'Wanjiru Kamau', diagnosis: 'Tuberculosis, pulmonary' },
  { name: 'Abdirahman Farah', diagnosis: 'HIV, on ART' },
  { name: 'Nomvula Dlamini', diagnosis: 'Gestational diabetes' },
  { name: 'Tesfaye Gebremariam', diagnosis: 'Hypertension' },
]
const SECRETS = PATIENTS.flatMap((p) => [p.name, p.diagnosis])

async function writePatients(storage: StorageAdapterInterface): Promise<AutomergeUrl[]> {
  const repo = new Repo({ storage, network: [] })
  const urls: AutomergeUrl[] = []
  for (const p of PATIENTS) {
    const handle = repo.create<PatientDoc>({ name: p.name, diagnosis: '' })
    handle.change((d) => {
      d.diagnosis = p.diagnosis
    })
    urls.push(handle.url)
  }
  await repo.flush()
  await repo.shutdown()
  return urls
}

/** Which of the secrets appear anywhere in any file under `dir` (UTF-8 or UTF-16LE). */
async function leaked(dir: string): Promise<string[]> {
  const files = await allFiles(dir)
  expect(files.length).toBeGreaterThan(PATIENTS.length)
  return SECRETS.filter((s) =>
    files.some(
      (f) => f.bytes.includes(Buffer.from(s, 'utf8')) || f.bytes.includes(Buffer.from(s, 'utf16le')),
    ),
  )
}

describe('patient data at rest', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  beforeEach(async () => {
    dir = await tempDir()
  })
  afterEach(async () => {
    await dir.remove()
  })

  it('the plain NodeFS adapter leaves every name on disk (the scan can see them)', async () => {
    await writePatients(new NodeFSStorageAdapter(join(dir.path, 'repo')))
    expect(await leaked(dir.path)).toEqual(SECRETS)
  })

  it('with the encrypted adapter no name or diagnosis is on disk, and the key file reopens the data', async () => {
    const keyFile = join(dir.path, 'device.key')
    const keyring = await createKeyFile(keyFile, 'correct horse battery staple', { scrypt: TEST_SCRYPT })
    const urls = await writePatients(
      new EncryptedStorageAdapter(new NodeFSStorageAdapter(join(dir.path, 'repo')), keyring),
    )
    expect(await leaked(dir.path)).toEqual([])

    // after a "reboot": unlock the key file, open the same directory, read the charts back
    const again = await openKeyFile(keyFile, 'correct horse battery staple')
    const repo = new Repo({
      storage: new EncryptedStorageAdapter(new NodeFSStorageAdapter(join(dir.path, 'repo')), again),
      network: [],
    })
    const names: string[] = []
    for (const url of urls) names.push((await repo.find<PatientDoc>(url)).doc().name)
    await repo.shutdown()
    expect(names).toEqual(PATIENTS.map((p) => p.name))
  })

  it('a stolen disk without the secret opens nothing', async () => {
    const keyFile = join(dir.path, 'device.key')
    const keyring = await createKeyFile(keyFile, 'correct horse battery staple', { scrypt: TEST_SCRYPT })
    await writePatients(
      new EncryptedStorageAdapter(new NodeFSStorageAdapter(join(dir.path, 'repo')), keyring),
    )
    await expect(openKeyFile(keyFile, 'guess')).rejects.toMatchObject({
      name: 'KeyFileError',
      reason: 'wrong-secret',
    })
  })
})
