import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { newRelaySecret, relayPublicKeyOf } from '@clinic-mesh/ledger'
import { CheckpointError } from './errors.js'

/** The relay's identity: it signs the documents only it writes; devices pin `publicKey` at their first registration. */
export interface RelayKey {
  /** hex Ed25519 public key */
  readonly publicKey: string
  readonly secretKey: Uint8Array
}

interface RelayKeyFile {
  kind: 'clinic-mesh/relay-key/1'
  publicKey: string
  secretKey: string
  createdAt: string
}

/** `DIR/relay-key.json` (mode 0600), created at first start. A relay that loses it is a new relay to every device. */
export async function loadRelayKey(dataDir: string): Promise<RelayKey> {
  const path = join(dataDir, 'relay-key.json')
  let text: string | undefined
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  if (text !== undefined) {
    try {
      const f = JSON.parse(text) as RelayKeyFile
      const secretKey = Buffer.from(f.secretKey, 'hex')
      if (
        f.kind !== 'clinic-mesh/relay-key/1' ||
        secretKey.length !== 32 ||
        relayPublicKeyOf(secretKey) !== f.publicKey
      )
        throw new Error('key and public key disagree')
      await chmod(path, 0o600)
      return { publicKey: f.publicKey, secretKey: new Uint8Array(secretKey) }
    } catch (err) {
      throw new CheckpointError(`unreadable relay key ${path}`, { cause: err })
    }
  }
  await mkdir(dataDir, { recursive: true })
  const secretKey = newRelaySecret()
  const file: RelayKeyFile = {
    kind: 'clinic-mesh/relay-key/1',
    publicKey: relayPublicKeyOf(secretKey),
    secretKey: Buffer.from(secretKey).toString('hex'),
    createdAt: new Date().toISOString(),
  }
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, JSON.stringify(file, null, 1), { mode: 0o600 })
  await rename(tmp, path)
  return { publicKey: file.publicKey, secretKey }
}
