import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { openField, openKeyFile } from '@clinic-mesh/security'
import { testSecret } from './device-process.js'

/**
 * What a device sealed under its identity key (DIR/identity.key, opened with its device secret): the libp2p key's
 * protobuf bytes (`peer.key`) and the clinic secret (`device.json`). Tests only: the attacker of a copied disk has
 * no secret and opens nothing.
 */
export async function openDeviceSecrets(
  dataDir: string,
  secret = testSecret(dataDir),
): Promise<{ peerKey: Uint8Array; clinicSecret: Uint8Array }> {
  const keyring = await openKeyFile(join(dataDir, 'identity.key'), secret)
  const peer = JSON.parse(await readFile(join(dataDir, 'peer.key'), 'utf8')) as { sealed: string }
  const config = JSON.parse(await readFile(join(dataDir, 'device.json'), 'utf8')) as {
    clinicSecretSealed: string
  }
  return {
    peerKey: await openField(keyring, 'peer.key', peer.sealed),
    clinicSecret: await openField(keyring, 'clinicSecret', config.clinicSecretSealed),
  }
}
