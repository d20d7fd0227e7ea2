import { readFile, rename, writeFile } from 'node:fs/promises'
import { sha256 } from '@noble/hashes/sha2.js'
import { type CryptoKey, gcmOpen, gcmSeal, importAesKey } from './aes-gcm.js'
import { bytesToHex, concatBytes, hexToBytes, randomBytes, utf8ToBytes } from './bytes.js'
import { DecryptionError, KeyFileError } from './errors.js'
import { type DataKey, Keyring, MAX_KEY_ID, generateDataKey, importDataKey } from './keyring.js'
import { KEY_FILE_SCRYPT, type ScryptParams, checkScryptParams, deriveKey } from './scrypt-params.js'

/** On-disk key file (JSON). Holds only wrapped keys: without the secret it opens nothing. */
export interface KeyFileData {
  readonly format: 'clinic-mesh/keyfile'
  readonly v: 1
  readonly kdf: {
    readonly alg: 'scrypt'
    readonly N: number
    readonly r: number
    readonly p: number
    readonly salt: string
  }
  readonly current: number
  readonly keys: readonly { readonly id: number; readonly createdAt: string; readonly wrapped: string }[]
}

export interface KeyFileOptions {
  readonly scrypt?: ScryptParams
  readonly now?: () => Date
  /**
   * Reuse this kdf (salt and cost) of another key file opened by the same secret (`readKeyFileKdf`): both are then
   * unlocked by one scrypt run in this process (a device's data-key and identity-key files).
   */
  readonly kdf?: KeyFileData['kdf']
}

const wrapAad = (id: number): Uint8Array => {
  const n = new Uint8Array(4)
  new DataView(n.buffer).setUint32(0, id)
  return concatBytes(utf8ToBytes('clinic-mesh/data-key/v1'), n)
}

/**
 * Key-encryption keys derived in this process (a few, non-extractable), by a hash of (kdf, secret): two key files
 * sharing a kdf cost one scrypt run. Only key files use it, never user passwords.
 */
const keks = new Map<string, Promise<CryptoKey>>()

async function kek(secret: string | Uint8Array, kdf: KeyFileData['kdf']): Promise<CryptoKey> {
  const id = bytesToHex(
    sha256(
      concatBytes(
        utf8ToBytes(JSON.stringify([kdf.salt, kdf.N, kdf.r, kdf.p])),
        typeof secret === 'string' ? utf8ToBytes(secret.normalize('NFKC')) : secret,
      ),
    ),
  )
  let k = keks.get(id)
  if (!k) {
    k = deriveKey(secret, hexToBytes(kdf.salt), kdf).then((raw) =>
      importAesKey(raw).finally(() => raw.fill(0)),
    )
    if (keks.size >= 4) keks.clear()
    keks.set(id, k)
    k.catch(() => keks.delete(id))
  }
  return k
}

/** The kdf (salt and cost) of a key file, to create another one unlocked by the same scrypt run. */
export async function readKeyFileKdf(path: string): Promise<KeyFileData['kdf']> {
  const { kdf } = await read(path)
  return { alg: 'scrypt', N: kdf.N, r: kdf.r, p: kdf.p, salt: kdf.salt }
}

async function wrap(kekKey: CryptoKey, id: number, raw: Uint8Array): Promise<string> {
  return bytesToHex(await gcmSeal(kekKey, raw, wrapAad(id)))
}

async function write(path: string, data: KeyFileData, exclusive: boolean): Promise<void> {
  const text = `${JSON.stringify(data, null, 2)}\n`
  if (exclusive) {
    try {
      await writeFile(path, text, { mode: 0o600, flag: 'wx' })
    } catch (cause) {
      throw new KeyFileError('exists', `key file ${path} already exists`, { cause })
    }
    return
  }
  const tmp = `${path}.${bytesToHex(randomBytes(4))}.tmp`
  await writeFile(tmp, text, { mode: 0o600 })
  await rename(tmp, path)
}

function parse(path: string, text: string): KeyFileData {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (cause) {
    throw new KeyFileError('malformed', `key file ${path} is not JSON`, { cause })
  }
  const d = data as Partial<KeyFileData> | null
  const ok =
    d !== null &&
    typeof d === 'object' &&
    d.format === 'clinic-mesh/keyfile' &&
    d.v === 1 &&
    d.kdf?.alg === 'scrypt' &&
    typeof d.kdf.salt === 'string' &&
    typeof d.current === 'number' &&
    Array.isArray(d.keys) &&
    (d.keys as unknown[]).every((k) => {
      const e = k as { id?: unknown; wrapped?: unknown } | null
      return e !== null && typeof e === 'object' && typeof e.id === 'number' && typeof e.wrapped === 'string'
    })
  if (!ok) throw new KeyFileError('malformed', `key file ${path} has an unknown layout`)
  try {
    checkScryptParams(d.kdf)
  } catch (cause) {
    throw new KeyFileError('malformed', `key file ${path}: ${String(cause)}`, { cause })
  }
  return d as KeyFileData
}

async function read(path: string): Promise<KeyFileData> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (cause) {
    throw new KeyFileError('missing', `cannot read key file ${path}`, { cause })
  }
  return parse(path, text)
}

/** Unwraps every key; a wrong secret fails on the first one with `KeyFileError('wrong-secret')`. */
async function unlock(
  path: string,
  secret: string | Uint8Array,
): Promise<{ data: KeyFileData; raw: Map<number, Uint8Array> }> {
  const data = await read(path)
  const k = await kek(secret, data.kdf)
  const raw = new Map<number, Uint8Array>()
  for (const entry of data.keys) {
    try {
      raw.set(
        entry.id,
        await gcmOpen(k, hexToBytes(entry.wrapped), wrapAad(entry.id), `data key ${entry.id}`),
      )
    } catch (cause) {
      if (cause instanceof DecryptionError)
        throw new KeyFileError('wrong-secret', `the secret does not open ${path}`, { cause })
      throw cause
    }
  }
  if (!raw.has(data.current))
    throw new KeyFileError('malformed', `key file ${path} has no current key ${data.current}`)
  return { data, raw }
}

async function keyringOf(data: KeyFileData, raw: Map<number, Uint8Array>): Promise<Keyring> {
  const keys: DataKey[] = []
  for (const [id, bytes] of raw) {
    keys.push(await importDataKey(id, bytes))
    bytes.fill(0)
  }
  const current = keys.find((k) => k.id === data.current)
  if (!current) throw new KeyFileError('malformed', `no current key ${data.current}`)
  return new Keyring(current, keys)
}

/** Creates a key file with one fresh random data key (id 1), wrapped under scrypt(secret). Refuses to overwrite. */
export async function createKeyFile(
  path: string,
  secret: string | Uint8Array,
  options: KeyFileOptions = {},
): Promise<Keyring> {
  const params = options.scrypt ?? KEY_FILE_SCRYPT
  const kdf = options.kdf ?? { alg: 'scrypt' as const, ...params, salt: bytesToHex(randomBytes(16)) }
  const { dataKey, raw } = await generateDataKey(1)
  const now = (options.now ?? (() => new Date()))()
  const wrapped = await wrap(await kek(secret, kdf), 1, raw)
  await write(
    path,
    {
      format: 'clinic-mesh/keyfile',
      v: 1,
      kdf,
      current: 1,
      keys: [{ id: 1, createdAt: now.toISOString(), wrapped }],
    },
    true,
  )
  return new Keyring(dataKey)
}

/** Opens the key file with the device secret / unlock passphrase. */
export async function openKeyFile(path: string, secret: string | Uint8Array): Promise<Keyring> {
  const { data, raw } = await unlock(path, secret)
  return keyringOf(data, raw)
}

/** Adds a fresh data key (next id) as current and returns it; pass it to `EncryptedStorageAdapter.rotate`. */
export async function rotateKeyFile(
  path: string,
  secret: string | Uint8Array,
  options: KeyFileOptions = {},
): Promise<DataKey> {
  const { data } = await unlock(path, secret)
  const id = Math.max(...data.keys.map((k) => k.id)) + 1
  if (id > MAX_KEY_ID) throw new KeyFileError('malformed', 'key ids exhausted')
  const { dataKey, raw } = await generateDataKey(id)
  const createdAt = (options.now ?? (() => new Date()))().toISOString()
  const wrapped = await wrap(await kek(secret, data.kdf), id, raw)
  await write(path, { ...data, current: id, keys: [...data.keys, { id, createdAt, wrapped }] }, false)
  return dataKey
}

/** Deletes an old key from the file once no chunk needs it (after `reencrypt`). */
export async function retireKeyFromFile(
  path: string,
  secret: string | Uint8Array,
  id: number,
): Promise<void> {
  const { data } = await unlock(path, secret)
  if (id === data.current) throw new KeyFileError('in-use', `key ${id} is the current key`)
  if (!data.keys.some((k) => k.id === id)) throw new KeyFileError('unknown-key', `no key ${id} in ${path}`)
  await write(path, { ...data, keys: data.keys.filter((k) => k.id !== id) }, false)
}

/** Re-wraps every data key under a new secret (new salt); the data itself is not touched. */
export async function changeKeyFileSecret(
  path: string,
  oldSecret: string | Uint8Array,
  newSecret: string | Uint8Array,
  options: KeyFileOptions = {},
): Promise<void> {
  const { data, raw } = await unlock(path, oldSecret)
  const kdf = { alg: 'scrypt' as const, ...(options.scrypt ?? data.kdf), salt: bytesToHex(randomBytes(16)) }
  const k = await kek(newSecret, kdf)
  const keys = await Promise.all(
    data.keys.map(async (e) => ({ ...e, wrapped: await wrap(k, e.id, raw.get(e.id) ?? new Uint8Array()) })),
  )
  await write(
    path,
    { ...data, kdf: { alg: 'scrypt', N: kdf.N, r: kdf.r, p: kdf.p, salt: kdf.salt }, keys },
    false,
  )
}
