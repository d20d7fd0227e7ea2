import { Repo, type PeerId } from '@automerge/automerge-repo'
import { eventually } from '@clinic-mesh/testing'
import { AuthenticatedRelayAdapter, clinicAdmin, enrol, httpBase, newDeviceKey, prove } from './relay-auth.js'

/**
 * A clinic's first device, as a stock automerge-repo client: its own clinic directory, registered at the relay on
 * `port` (`POST /api/clinics`, enrolled by the clinic's admin key, with its proof) and connected to its `/sync`.
 * Throws if the relay does not answer 201. The caller shuts the repo down.
 */
export async function firstDeviceAt(port: number, clinic: string): Promise<Repo> {
  const syncUrl = `ws://127.0.0.1:${port}/sync`
  const key = newDeviceKey()
  const repo = new Repo({
    network: [new AuthenticatedRelayAdapter(syncUrl, key)],
    peerId: `peer-${clinic}-${Math.random().toString(36).slice(2)}` as PeerId,
  })
  const directory = repo.create({ kind: 'clinic-directory/1', clinic, ledgerLogs: {}, settlement: {} })
  const admin = clinicAdmin(clinic)
  const fields = [clinic, directory.url, repo.peerId as string, key.peerId]
  const res = await fetch(`${httpBase(syncUrl)}/api/clinics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      clinic,
      directoryUrl: directory.url,
      peerId: repo.peerId,
      devicePeerId: key.peerId,
      enrolment: enrol(clinic, key, 'tab-1', admin),
      adminPublicKeys: [Buffer.from(admin.publicKey).toString('hex')],
      proof: await prove(httpBase(syncUrl), key, 'register', fields),
    }),
  })
  if (res.status !== 201) {
    await repo.shutdown()
    throw new Error(`registering ${clinic}: ${res.status} ${await res.text()}`)
  }
  await eventually(() => repo.peers.length > 0 || undefined, {
    timeoutMs: 10_000,
    on: [[repo.networkSubsystem, 'peer']],
    what: `the first device of ${clinic} connected`,
  })
  return repo
}
