import { cbor } from '@automerge/automerge-repo/slim'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { clinicAdmin, httpBase, newDeviceKey, prove, syncUrlFor } from './helpers/relay-auth.js'
import { generateAdminKey, type AdminKeyPair } from '@clinic-mesh/mesh'
import { tempDir } from '@clinic-mesh/testing'
import { TestDevice, startRelayWithClinic, type RelayWithClinic } from './helpers/relay-device.js'
import { RelayProcess } from './helpers/relay-process.js'

interface ErrorBody {
  error: { name: string; message: string }
}

interface Upgrade {
  status: number
  body: string
}

/** Tries to open a WebSocket; resolves with the HTTP status the relay answered the upgrade with (101 = opened). */
function upgrade(url: string): Promise<Upgrade & { ws?: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url)
    ws.on('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += d.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    ws.on('error', () => undefined)
    ws.on('open', () => resolve({ status: 101, body: '', ws }))
  })
}

/**
 * The relay is reached over the internet: a device proves it holds the key its clinic's admin enrolled before it
 * registers, and again (a fresh nonce) for every sync socket; a socket speaks only as the peer that opened it.
 */
describe('device authentication at the relay', () => {
  let env: RelayWithClinic
  let base: string
  let peer: string

  beforeAll(async () => {
    env = await startRelayWithClinic('relay-auth-', 'clinic-auth', 'tab-1')
    base = httpBase(env.relay.syncUrl)
    peer = env.dev.repo.peerId
  })
  afterAll(async () => {
    await env?.stop()
  })

  it('refuses a sync socket without a proof, with a stranger key, or with a spent nonce', async () => {
    const bare = await upgrade(`${base.replace(/^http/, 'ws')}/sync`)
    expect([bare.status, bare.body]).toEqual([401, expect.stringMatching(/^DeviceAuthError/)])
    // knowing the device's peer id is not enough: the proof must come from the key it registered with
    const stranger = await upgrade(await syncUrlFor(base, peer, newDeviceKey()))
    expect([stranger.status, stranger.body]).toEqual([
      401,
      expect.stringMatching(/^DeviceAuthError: proof does not verify/),
    ])
    const unknown = newDeviceKey()
    const unregistered = await upgrade(await syncUrlFor(base, unknown.peerId, unknown))
    expect([unregistered.status, unregistered.body]).toEqual([
      403,
      expect.stringMatching(/^NotEnrolledError/),
    ])
    // a captured URL works once
    const url = await syncUrlFor(base, peer, env.dev.key)
    const first = await upgrade(url)
    expect(first.status).toBe(101)
    first.ws?.close()
    const replay = await upgrade(url)
    expect([replay.status, replay.body]).toEqual([401, expect.stringMatching(/nonce/)])
  })

  it('closes a socket that speaks as another peer than the one that opened it', async () => {
    const opened = await upgrade(await syncUrlFor(base, peer, env.dev.key))
    expect(opened.status).toBe(101)
    const closed = await new Promise<{ code: number; reason: string }>((resolve) => {
      opened.ws!.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))
      opened.ws!.send(
        cbor.encode({
          type: 'join',
          senderId: 'peer-someone-else',
          peerMetadata: {},
          supportedProtocolVersions: ['1'],
        }),
      )
    })
    expect([closed.code, closed.reason]).toEqual([1008, expect.stringMatching(/^PeerMismatchError/)])
  })

  it('refuses registration without a valid proof or enrolment, with named errors', async () => {
    const reg = (body: Record<string, unknown>) =>
      env.relay.api<{ error: { name: string } }>('POST', '/api/clinics', body)
    const dev = env.dev
    const directoryUrl = dev.directory.url
    const honest = { clinic: dev.clinic, directoryUrl, peerId: peer, devicePeerId: dev.key.peerId }
    const legacy = await reg({ clinic: dev.clinic, directoryUrl, peerId: peer })
    expect([legacy.status, legacy.body.error.name]).toEqual([400, 'InvalidInputError'])
    expect((await dev.register(env.relay)).status).toBe(200) // the honest device, again: idempotent
    // a proof by another key than the one the enrolment names
    const other = newDeviceKey()
    const forged = await reg({
      ...honest,
      enrolment: {
        clinic: dev.clinic,
        devicePeerId: dev.key.peerId,
        deviceName: 'x',
        enrolledAt: new Date().toISOString(),
        by: '00'.repeat(32),
        signature: '00'.repeat(64),
      },
      adminPublicKeys: ['00'.repeat(32)],
      proof: await prove(base, other, 'register', [dev.clinic, directoryUrl, peer, dev.key.peerId]),
    })
    expect([forged.status, forged.body.error.name]).toEqual([401, 'DeviceAuthError'])
    const unsigned = await reg({
      ...honest,
      enrolment: {
        clinic: dev.clinic,
        devicePeerId: dev.key.peerId,
        deviceName: 'x',
        enrolledAt: new Date().toISOString(),
        by: '00'.repeat(32),
        signature: '00'.repeat(64),
      },
      adminPublicKeys: ['00'.repeat(32)],
      proof: await prove(base, dev.key, 'register', [dev.clinic, directoryUrl, peer, dev.key.peerId]),
    })
    expect([unsigned.status, unsigned.body.error.name]).toEqual([403, 'NotEnrolledError'])
  })
})

describe('clinics provisioned by the relay operator (--trust, --trusted-only): no first-use window', () => {
  it('admits the provisioned clinic’s devices only, even at its first registration, and no other clinic', async () => {
    const dir = await tempDir('relay-trust-')
    const admin = clinicAdmin('clinic-p')
    const relay = await RelayProcess.start(dir.path, 0, [
      '--trust',
      `clinic-p=${Buffer.from(admin.publicKey).toString('hex')}`,
      '--trusted-only',
    ])
    const devices: TestDevice[] = []
    const device = (clinic: string, name: string, by?: AdminKeyPair): TestDevice => {
      const d = new TestDevice(relay.syncUrl, clinic, name, by)
      devices.push(d)
      d.createClinic()
      return d
    }
    try {
      // an impostor registering clinic-p first with its own admin key gets nowhere: the keys were provisioned
      const impostor = await device('clinic-p', 'impostor', generateAdminKey()).register(relay)
      expect([impostor.status, (impostor.body as unknown as ErrorBody).error.name]).toEqual([
        403,
        'NotEnrolledError',
      ])
      const real = device('clinic-p', 'desk')
      expect((await real.register(relay)).status).toBe(201)
      const other = await device('clinic-x', 'desk-x').register(relay)
      expect([other.status, (other.body as unknown as ErrorBody).error.message]).toEqual([
        403,
        expect.stringMatching(/not provisioned/),
      ])
    } finally {
      for (const d of devices) await d.close()
      await relay.stop()
      await dir.remove()
    }
  })
})
