import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { request } from 'node:https'
import { join } from 'node:path'
import { tempDir, type TempDir } from '@clinic-mesh/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceProcess, pollDevice } from './helpers/device-process.js'
import { RelayProcess } from './helpers/relay-process.js'

/**
 * Issue "Hardened surfaces": the relay is authenticated. Before a device shows the relay anything (registration,
 * every `/sync` socket) the relay signs the device's own nonce with its identity key, which the device pinned (or
 * pins, at its very first registration); a relay off loopback is reached over TLS only.
 */

interface RelayStatus {
  url: string
  connected: boolean
  registered: boolean
  lastError: string | null
  attempts: number
}
interface Status {
  relay: RelayStatus
  pending: { ops: number }
  clinic: { id: string; directoryUrl: string }
}

const relayOf = async (d: DeviceProcess): Promise<RelayStatus> =>
  (await d.api<Status>('GET', '/api/status')).body.relay

/** Every document file under a repo dir (automerge-repo's own `storage-adapter-id` aside; none when it does not exist). */
async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return []
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .filter((f) => !f.endsWith('orage-adapter-id'))
}

/** GET over https from a relay with a self-signed certificate (`ca`), with the helper's operator token when it has one. */
function httpsJson<T>(
  port: number,
  path: string,
  ca: string,
  token: string | undefined,
): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        ca,
        servername: 'localhost',
        headers: token ? { authorization: `Bearer ${token}` } : {},
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as T,
          }),
        )
      },
    )
    req.on('error', reject)
    req.end()
  })
}

/** Storage at rest is not what these tests are about: plain storage spares a loaded machine the unlock's scrypt. */
const PLAIN = ['--plain-storage']

const tokenOf = (r: RelayProcess): string | undefined =>
  (r as unknown as { operatorToken?: string }).operatorToken

describe('the relay proves its identity key before a device shares anything', () => {
  let dir: TempDir
  const stops: (() => Promise<unknown>)[] = []

  beforeAll(async () => {
    dir = await tempDir('relay-identity-')
  })

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined)
    await dir?.remove()
  })

  it('an impostor relay at the address the device was told (another key) gets no registration and no document', async () => {
    const real = await RelayProcess.start(join(dir.path, 'real'))
    stops.push(() => real.stop('SIGKILL'))
    const port = real.port
    const node = await DeviceProcess.start({
      dataDir: join(dir.path, 'pharmacy'),
      name: 'pharmacy',
      clinicFile: join(dir.path, 'clinic.json'),
      initClinic: 'Identity Clinic',
      relay: `ws://127.0.0.1:${port}`,
      args: PLAIN,
    })
    stops.push(() => node.stop('SIGKILL'))
    await node.ready()
    await pollDevice(async () => (await relayOf(node)).connected, 'linked to the real relay')
    // trust on first use, but of a key the relay proved it holds
    const realKey = JSON.parse(await readFile(join(dir.path, 'real', 'relay-key.json'), 'utf8')) as {
      publicKey: string
    }
    const config = JSON.parse(await readFile(join(dir.path, 'pharmacy', 'device.json'), 'utf8')) as {
      relayKey?: string
    }
    expect(config.relayKey).toBe(realKey.publicKey)
    const status = (await node.api<Status>('GET', '/api/status')).body

    // the real relay goes away; another relay (its own key, its own data) answers at the same address
    await real.stop('SIGTERM')
    const impostor = await RelayProcess.start(join(dir.path, 'impostor'), port)
    stops.push(() => impostor.stop('SIGKILL'))
    const refused = await pollDevice(
      async () => {
        const r = await relayOf(node)
        return r.lastError?.includes('RelayAuthError') ? r : undefined
      },
      'the impostor refused with RelayAuthError',
      30_000,
    )
    expect(refused.connected).toBe(false)
    expect(refused.lastError).toContain('RelayKeyMismatchError')
    expect(node.stderr.join('\n')).toMatch(
      /"event":"relay-auth-failed","error":"RelayAuthError","cause":"RelayKeyMismatchError"/,
    )
    // new data while the impostor is there: still nothing reaches it
    const grn = {
      id: 'grn-i1',
      item: 'itm_para',
      batch: 'P-1',
      expiry: '2031-03-31',
      quantity: 50,
      unitCost: 3,
      supplier: 'CMST',
      grn: 'G-1',
    }
    const before = (await relayOf(node)).attempts
    expect((await node.api('POST', '/api/stock/receipts', grn)).status).toBe(201)
    // the link tries again with the new data waiting, and is refused again
    const again = await pollDevice(
      async () => {
        const r = await relayOf(node)
        return r.attempts > before + 1 ? r : undefined
      },
      'two more refused attempts after the receipt',
      60_000,
    )
    expect(again.lastError).toContain('RelayAuthError')
    expect((await relayOf(node)).connected).toBe(false)
    // no registration, no socket, no document of the clinic at the impostor
    expect(await filesUnder(join(dir.path, 'impostor', 'repo'))).toEqual([])
    const clinics = existsSync(join(dir.path, 'impostor', 'clinics.json'))
      ? await readFile(join(dir.path, 'impostor', 'clinics.json'), 'utf8')
      : ''
    expect(clinics).not.toContain(status.clinic.id)
    expect(impostor.stderr.join('\n')).not.toMatch(/clinic-registered|sync-refused|sync-message/)
    const seen = await impostor.api<{ clinics: unknown[] }>('GET', '/api/status')
    expect(seen.body.clinics).toEqual([])

    // the real relay back at that address: the pinned key proves again and the link returns
    await impostor.stop('SIGTERM')
    const back = await RelayProcess.start(join(dir.path, 'real'), port)
    stops.push(() => back.stop('SIGKILL'))
    await pollDevice(async () => (await relayOf(node)).connected, 'linked to the real relay again', 45_000)
    await pollDevice(
      async () => (await node.api<Status>('GET', '/api/status')).body.pending.ops === 0,
      'the receipt decided by the real relay',
      30_000,
    )
  }, 240_000)

  it('a plain-text relay URL off loopback is refused at start (ConfigError) unless --insecure-relay', async () => {
    for (const relay of ['ws://10.1.2.3:4100', 'http://10.1.2.3:4100/sync']) {
      const dataDir = join(dir.path, `plain-${relay.slice(0, 4)}`)
      const start = DeviceProcess.start({
        dataDir,
        name: 'plain',
        initClinic: 'Plain Clinic',
        relay,
        args: PLAIN,
      })
      await expect(start).rejects.toThrow(
        /ConfigError: --relay .* is plain text to a host that is not loopback/,
      )
    }
    const dev = await DeviceProcess.start({
      dataDir: join(dir.path, 'insecure'),
      name: 'insecure',
      initClinic: 'Dev Clinic',
      relay: 'ws://10.1.2.3:4100',
      args: [...PLAIN, '--insecure-relay'],
    })
    stops.push(() => dev.stop('SIGKILL'))
    await dev.ready()
    expect((await relayOf(dev)).url).toBe('ws://10.1.2.3:4100')
  }, 120_000)

  it('a TLS relay with a self-signed certificate: settles a receipt with --relay-ca, refused without it', async () => {
    const cert = join(dir.path, 'cert.pem')
    const key = join(dir.path, 'key.pem')
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    )
    const ca = await readFile(cert, 'utf8')
    const relay = await RelayProcess.start(join(dir.path, 'tls-relay'), 0, [
      '--tls-cert',
      cert,
      '--tls-key',
      key,
    ])
    stops.push(() => relay.stop('SIGKILL'))
    const url = `wss://127.0.0.1:${relay.port}`
    const trusted = await DeviceProcess.start({
      dataDir: join(dir.path, 'tls-ca'),
      name: 'tls-ca',
      initClinic: 'TLS Clinic',
      relay: url,
      args: [...PLAIN, '--relay-ca', cert],
    })
    stops.push(() => trusted.stop('SIGKILL'))
    await trusted.ready()

    await pollDevice(
      async () => (await relayOf(trusted)).connected,
      'linked over wss with --relay-ca',
      30_000,
    )
    const grn = {
      id: 'grn-t1',
      item: 'itm_para',
      batch: 'P-1',
      expiry: '2031-03-31',
      quantity: 50,
      unitCost: 3,
      supplier: 'CMST',
      grn: 'G-1',
    }
    expect((await trusted.api('POST', '/api/stock/receipts', grn)).status).toBe(201)
    await pollDevice(
      async () => (await trusted.api<Status>('GET', '/api/status')).body.pending.ops === 0,
      'the receipt decided by the TLS relay',
      30_000,
    )
    const stock = await trusted.api<{ settledAt: string | null }>('GET', '/api/stock')
    expect(stock.body.settledAt).not.toBeNull()

    // the same relay, a device not given its certificate's CA
    const untrusted = await DeviceProcess.start({
      dataDir: join(dir.path, 'tls-none'),
      name: 'tls-none',
      initClinic: 'Untrusting Clinic',
      relay: url,
      args: PLAIN,
    })
    stops.push(() => untrusted.stop('SIGKILL'))
    await untrusted.ready()
    const refused = await pollDevice(async () => {
      const r = await relayOf(untrusted)
      return r.lastError && /certificate/i.test(r.lastError) ? r : undefined
    }, 'the self-signed certificate refused without --relay-ca')
    expect(refused).toMatchObject({ connected: false, registered: false })
    const ids = await Promise.all(
      [trusted, untrusted].map(async (d) => (await d.api<Status>('GET', '/api/status')).body.clinic.id),
    )
    const seen = await httpsJson<{ clinics: { clinic: string; opsDecided: number }[] }>(
      relay.port,
      '/api/status',
      ca,
      tokenOf(relay),
    )
    expect(seen.status).toBe(200)
    expect(seen.body.clinics.map((c) => c.clinic)).toEqual([ids[0]])
    expect(seen.body.clinics[0]?.opsDecided).toBeGreaterThanOrEqual(1)
  }, 240_000)
})
