import { readdir, readFile, rm, mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ed25519 } from '@noble/curves/ed25519.js'
import { unwrapUnderPassword, type PasswordWrapped } from '@clinic-mesh/security'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceProcess, TEST_ADMIN_PASSWORD, pollDevice } from './helpers/device-process.js'
import { openDeviceSecrets } from './helpers/device-secrets.js'

/** The field setup: no shared clinic file, join codes only; the join endpoint on loopback. */
const FIELD = { CLINIC_MESH_SHARED_CLINIC_FILE: '0', CLINIC_MESH_JOIN_HOST: '127.0.0.1' }
const admin = { name: 'admin', role: 'admin' }
interface Offer {
  code: string
  url: string
}
interface Status {
  device: { peerId: string }
  peers: { peerId: string }[]
}

/** The needles of one secret: its hex (lower and upper case), its raw bytes, and base64 of them. */
function needles(label: string, bytes: Uint8Array): { label: string; bytes: Buffer }[] {
  const b = Buffer.from(bytes)
  return [
    { label: `${label} raw`, bytes: b },
    { label: `${label} hex`, bytes: Buffer.from(b.toString('hex')) },
    { label: `${label} HEX`, bytes: Buffer.from(b.toString('hex').toUpperCase()) },
    { label: `${label} base64`, bytes: Buffer.from(b.toString('base64').replace(/=+$/, '')) },
  ]
}

/** Every file under each dir (and the single files given): which needles occur in its bytes. */
async function scan(
  paths: string[],
  find: { label: string; bytes: Buffer }[],
): Promise<{ files: number; found: string[] }> {
  const out = { files: 0, found: [] as string[] }
  const look = async (p: string): Promise<void> => {
    const data = await readFile(p)
    out.files++
    for (const n of find) if (data.includes(n.bytes)) out.found.push(`${n.label} in ${p}`)
  }
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) await walk(p)
      else if (e.isFile()) await look(p)
    }
  }
  for (const p of paths) {
    if ((await readdir(p).catch(() => undefined)) !== undefined) await walk(p)
    else await look(p)
  }
  return out
}

/** The libp2p Ed25519 key as stored by protobuf (`08 01 12 40` + 64 bytes): the whole record and its 32-byte seed. */
function peerNeedles(label: string, protobuf: Uint8Array): { label: string; bytes: Buffer }[] {
  expect([...protobuf.subarray(0, 4)]).toEqual([0x08, 0x01, 0x12, 0x40])
  return [...needles(`${label} protobuf`, protobuf), ...needles(`${label} seed`, protobuf.subarray(4, 36))]
}

describe('secrets at rest: clinic secret, peer key and clinic admin key are never in clear on disk (real processes)', () => {
  let root: string
  const running: DeviceProcess[] = []
  const start = async (init: Parameters<typeof DeviceProcess.start>[0]): Promise<DeviceProcess> => {
    const d = await DeviceProcess.start(init)
    running.push(d)
    return d
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'secrets-at-rest-'))
  })
  afterAll(async () => {
    await Promise.all(running.map((d) => d.stop('SIGKILL')))
    await rm(root, { recursive: true, force: true })
  })

  it('control: --plain-storage with a shared clinic file leaves the clinic secret, the admin key and the peer key on disk, and the scan finds them', async () => {
    const dir = join(root, 'plain')
    const clinicFile = join(root, 'plain.clinic.json')
    const node = await start({
      dataDir: dir,
      name: 'plain',
      clinicFile,
      initClinic: 'Plain Clinic',
      args: ['--plain-storage'],
      env: { ...FIELD, CLINIC_MESH_SHARED_CLINIC_FILE: '1' },
    })
    await node.ready()
    expect(await node.stop('SIGTERM')).toBe(0)
    const clinic = JSON.parse(await readFile(clinicFile, 'utf8')) as {
      clinicSecret: string
      adminSecretKey: string
    }
    const pb = await readFile(join(dir, 'peer.key'))
    const find = [
      ...needles('clinic secret', Buffer.from(clinic.clinicSecret, 'hex')),
      ...needles('admin key', Buffer.from(clinic.adminSecretKey, 'hex')),
      ...peerNeedles('peer key', pb),
    ]
    const s = await scan([dir, clinicFile], find)
    const labels = new Set(s.found.map((f) => f.split(' in ')[0]))
    expect([...labels]).toEqual(
      expect.arrayContaining([
        'clinic secret hex',
        'admin key hex',
        'peer key protobuf raw',
        'peer key seed raw',
      ]),
    )
  }, 120_000)

  it('a founder, an admin who signs in, a tablet enrolled by join code, a patient: no secret in any file; restart, sign in again, revoke and enrol still work', async () => {
    const founderDir = join(root, 'founder')
    const tabletDir = join(root, 'tablet')
    const clinicFile = join(root, 'clinic.json')
    let founder = await start({
      dataDir: founderDir,
      name: 'founder',
      clinicFile,
      initClinic: 'Sealed Clinic',
      env: FIELD,
    })
    await founder.ready()
    const offer = await founder.api<Offer>('POST', '/api/join-codes', {}, { as: admin })
    expect(offer.status).toBe(201)
    const tablet = await start({
      dataDir: tabletDir,
      name: 'tablet',
      args: ['--join', offer.body.url, '--join-code', offer.body.code],
      env: FIELD,
    })
    await tablet.ready(30_000)
    const tabletPeer = (await tablet.api<Status>('GET', '/api/status')).body.device.peerId
    await pollDevice(
      async () =>
        (await founder.api<Status>('GET', '/api/status')).body.peers.some((p) => p.peerId === tabletPeer),
      'the founder meshes with the tablet',
    )
    const patient = await founder.api<{ id: string }>('POST', '/api/patients', {
      given: 'Ilunga',
      family: 'Sealwright',
      birthDate: '1990-01-01',
      sex: 'female',
    })
    expect(patient.status).toBe(201)
    await pollDevice(
      async () => (await tablet.api('GET', `/api/patients/${patient.body.id}`)).status === 200,
      'the tablet reads the chart',
    )
    const staleAdmin = await founder.token(admin)
    expect(await tablet.stop('SIGTERM')).toBe(0)
    expect(await founder.stop('SIGTERM')).toBe(0)

    // the real secrets, opened the way only a holder of the device secrets / the admin's password can
    const f = await openDeviceSecrets(founderDir)
    const t = await openDeviceSecrets(tabletDir)
    expect(Buffer.from(t.clinicSecret)).toEqual(Buffer.from(f.clinicSecret))
    const clinic = JSON.parse(await readFile(clinicFile, 'utf8')) as {
      adminPublicKeys: string[]
      clinicSecret?: string
      adminSecretKey?: string
    }
    expect([clinic.clinicSecret, clinic.adminSecretKey]).toEqual([undefined, undefined])
    const wrapped = JSON.parse(await readFile(join(founderDir, 'admin-key.json'), 'utf8')) as {
      publicKey: string
      wraps: Record<string, PasswordWrapped>
    }
    const aad = new TextEncoder().encode(`clinic-mesh/clinic-admin-key/v1:usr_admin:${wrapped.publicKey}`)
    const adminKey = await unwrapUnderPassword(
      TEST_ADMIN_PASSWORD,
      wrapped.wraps.usr_admin!,
      'clinic-admin-key-wrap',
      aad,
    )
    expect(Buffer.from(ed25519.getPublicKey(adminKey)).toString('hex')).toBe(clinic.adminPublicKeys[0])
    const find = [
      ...needles('clinic secret', f.clinicSecret),
      ...needles('admin key', adminKey),
      ...peerNeedles('founder peer key', f.peerKey),
      ...peerNeedles('tablet peer key', t.peerKey),
    ]
    const s = await scan([founderDir, tabletDir, clinicFile], find)
    expect(s.files).toBeGreaterThan(10)
    expect(s.found).toEqual([])

    // restart with the right secret: the clinic opens; a session from before the restart does not hold the admin key
    founder = await start({ dataDir: founderDir, name: 'founder', clinicFile, env: FIELD })
    await founder.ready()
    const locked = await founder.api<{ error: { name: string; message: string } }>(
      'POST',
      '/api/join-codes',
      {},
      { as: null, headers: { authorization: `Bearer ${staleAdmin}` } },
    )
    expect([locked.status, locked.body.error.name]).toEqual([401, 'SigningKeyLockedError'])
    expect(locked.body.error.message).toMatch(/sign in again/)
    const lockedRevoke = await founder.api<{ error: { name: string } }>(
      'POST',
      '/api/devices/revoke',
      { peerId: tabletPeer, reason: 'tablet stolen' },
      { as: null, headers: { authorization: `Bearer ${staleAdmin}` } },
    )
    expect([lockedRevoke.status, lockedRevoke.body.error.name]).toEqual([401, 'SigningKeyLockedError'])
    // signing in again unlocks it: a join code and a revocation
    const code = await founder.api<Offer>('POST', '/api/join-codes', {}, { as: admin })
    expect(code.status).toBe(201)
    const revoked = await founder.api<{ revoked: { peerId: string } }>(
      'POST',
      '/api/devices/revoke',
      { peerId: tabletPeer, reason: 'tablet stolen' },
      { as: admin },
    )
    expect([revoked.status, revoked.body.revoked?.peerId]).toEqual([200, tabletPeer])
    expect((await founder.api('GET', `/api/patients/${patient.body.id}`)).status).toBe(200)
    expect(await founder.stop('SIGTERM')).toBe(0)
  }, 240_000)

  it('migrates the control’s clear device.json and peer.key on the first start with a secret: the same identity, nothing clear left', async () => {
    const dir = join(root, 'plain')
    const clinicFile = join(root, 'plain.clinic.json')
    const clearConfig = JSON.parse(await readFile(join(dir, 'device.json'), 'utf8')) as {
      clinicSecret: string
      enrolment: { devicePeerId: string }
    }
    const pb = await readFile(join(dir, 'peer.key'))
    const node = await start({ dataDir: dir, name: 'plain', clinicFile, secret: 'now sealed', env: FIELD })
    await node.ready()
    expect((await node.api<Status>('GET', '/api/status')).body.device.peerId).toBe(
      clearConfig.enrolment.devicePeerId,
    )
    expect(node.stderr.join('\n')).toMatch(/peer-key-sealed/)
    expect(node.stderr.join('\n')).toMatch(/device-config-sealed/)
    expect(await node.stop('SIGTERM')).toBe(0)
    const s = await scan(
      [dir],
      [
        ...needles('clinic secret', Buffer.from(clearConfig.clinicSecret, 'hex')),
        ...peerNeedles('peer key', pb),
      ],
    )
    expect(s.found).toEqual([])
    const opened = await openDeviceSecrets(dir, 'now sealed')
    expect(Buffer.from(opened.peerKey)).toEqual(pb)
    expect(Buffer.from(opened.clinicSecret).toString('hex')).toBe(clearConfig.clinicSecret)
  }, 120_000)

  it('a changed admin password re-wraps the admin key: the old password no longer opens it, the new one does', async () => {
    const founderDir = join(root, 'founder')
    const founder = await start({
      dataDir: founderDir,
      name: 'founder',
      clinicFile: join(root, 'clinic.json'),
      env: FIELD,
    })
    await founder.ready()
    const changed = await founder.api(
      'POST',
      '/api/password',
      { oldPassword: TEST_ADMIN_PASSWORD, newPassword: 'a-new-admin-password' },
      { as: admin },
    )
    expect(changed.status).toBeLessThan(300)
    const wrapped = JSON.parse(await readFile(join(founderDir, 'admin-key.json'), 'utf8')) as {
      publicKey: string
      wraps: Record<string, PasswordWrapped>
    }
    const aad = new TextEncoder().encode(`clinic-mesh/clinic-admin-key/v1:usr_admin:${wrapped.publicKey}`)
    await expect(
      unwrapUnderPassword(TEST_ADMIN_PASSWORD, wrapped.wraps.usr_admin!, 'clinic-admin-key-wrap', aad),
    ).rejects.toThrow(/password/)
    const key = await unwrapUnderPassword(
      'a-new-admin-password',
      wrapped.wraps.usr_admin!,
      'clinic-admin-key-wrap',
      aad,
    )
    expect(Buffer.from(ed25519.getPublicKey(key)).toString('hex')).toBe(wrapped.publicKey)
    expect(await founder.stop('SIGTERM')).toBe(0)
  }, 120_000)
})
