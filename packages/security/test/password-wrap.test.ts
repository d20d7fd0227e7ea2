import { describe, expect, it } from 'vitest'
import {
  InvalidPasswordError,
  Keyring,
  generateDataKey,
  openField,
  sealField,
  unwrapUnderPassword,
  wrapUnderPassword,
} from '../src/index.js'
import { DecryptionError } from '../src/errors.js'

const FAST = { N: 2 ** 10, r: 8, p: 1 }
const aad = new TextEncoder().encode('clinic-mesh/clinic-admin-key/v1:usr_admin:ab')

describe('secrets under a password (clinic admin key) and sealed device fields', () => {
  it('wraps under the password: the right password with the same context and aad opens it, nothing else does', async () => {
    const secret = crypto.getRandomValues(new Uint8Array(32))
    const w = await wrapUnderPassword('admin password', secret, 'clinic-admin-key-wrap', aad, FAST)
    expect(w.data).not.toContain(Buffer.from(secret).toString('hex'))
    expect(await unwrapUnderPassword('admin password', w, 'clinic-admin-key-wrap', aad)).toEqual(secret)
    await expect(
      unwrapUnderPassword('wrong password', w, 'clinic-admin-key-wrap', aad),
    ).rejects.toBeInstanceOf(InvalidPasswordError)
    // another HKDF context (e.g. the signing-key wrap) or another owner in the aad does not open it
    await expect(unwrapUnderPassword('admin password', w, 'signing-key-wrap', aad)).rejects.toBeInstanceOf(
      InvalidPasswordError,
    )
    await expect(
      unwrapUnderPassword('admin password', w, 'clinic-admin-key-wrap', new TextEncoder().encode('other')),
    ).rejects.toBeInstanceOf(InvalidPasswordError)
  })

  it('seals a field under a keyring key with the field name in the aad', async () => {
    const { dataKey } = await generateDataKey(1)
    const keyring = new Keyring(dataKey)
    const plain = crypto.getRandomValues(new Uint8Array(32))
    const sealed = await sealField(keyring, 'clinicSecret', plain)
    expect(sealed).not.toContain(Buffer.from(plain).toString('hex'))
    expect(await openField(keyring, 'clinicSecret', sealed)).toEqual(plain)
    await expect(openField(keyring, 'peer.key', sealed)).rejects.toBeInstanceOf(DecryptionError)
    const other = new Keyring((await generateDataKey(1)).dataKey)
    await expect(openField(other, 'clinicSecret', sealed)).rejects.toBeInstanceOf(DecryptionError)
  })
})
