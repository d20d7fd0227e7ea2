import { randomBytes } from 'node:crypto'
import { request } from 'node:http'
import { join } from 'node:path'
import { tempDir, type TempDir } from '@clinic-mesh/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceCluster, DeviceProcess, TEST_ADMIN_PASSWORD } from './helpers/device-process.js'
import { httpBase, syncUrlFor } from './helpers/relay-auth.js'
import { TestDevice } from './helpers/relay-device.js'
import { RelayProcess } from './helpers/relay-process.js'
import { launchChromium, signIn } from './helpers/web-browser.js'

type Err = { error?: { name: string; message: string } }
interface Raw {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/**
 * A raw HTTP request as a hostile page's browser (or a DNS-rebound name) would send it: any Host, Origin, content
 * type; `localAddress` picks the client's loopback address (127.0.0.2 is another client than 127.0.0.1).
 */
function raw(
  port: number,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string; localAddress?: string } = {},
): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: { host: `127.0.0.1:${port}`, ...opts.headers },
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        )
      },
    )
    req.on('error', reject)
    req.end(opts.body)
  })
}

const errName = (r: Raw): string | undefined => {
  try {
    return (JSON.parse(r.body) as Err).error?.name
  } catch {
    return undefined
  }
}

/** A WebSocket upgrade by hand: 101 (upgraded, then closed) or the refusal's status and error name. */
function upgrade(
  port: number,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; name?: string }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      headers: {
        host: `127.0.0.1:${port}`,
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        'sec-websocket-version': '13',
        ...headers,
      },
    })
    req.on('upgrade', (_res, socket) => {
      socket.destroy()
      resolve({ status: 101 })
    })
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const r = {
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }
        const name = errName(r)
        resolve({ status: r.status, ...(name ? { name } : {}) })
      })
    })
    req.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'ECONNRESET' ? resolve({ status: 0 }) : reject(err),
    )
    req.end()
  })
}

describe('the device node web surface against a hostile page', () => {
  let cluster: DeviceCluster
  let node: DeviceProcess
  let port: number
  let admin: string

  beforeAll(async () => {
    cluster = await DeviceCluster.start([])
    node = await DeviceProcess.start({
      dataDir: join(cluster.root, 'tablet'),
      name: 'tablet',
      clinicFile: join(cluster.root, 'clinic.json'),
      initClinic: 'Web Clinic',
      args: ['--allow-host', 'tablet.clinic.lan'],
      env: { CLINIC_MESH_JOIN_HOST: '127.0.0.1' },
    })
    cluster.devices.push(node)
    port = node.port
    await node.ready()
    admin = await node.token({ name: 'admin', role: 'admin' })
  })
  afterAll(async () => {
    await cluster?.stop()
  })

  it('refuses text/plain JSON bodies with 415 before they count: five of them do not lock the user', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await raw(port, 'POST', '/api/login', {
        headers: { 'content-type': 'text/plain;charset=UTF-8', origin: `http://127.0.0.1:${port}` },
        body: JSON.stringify({ user: 'admin', password: `wrong-${i}` }),
      })
      expect([r.status, errName(r)]).toEqual([415, 'UnsupportedMediaTypeError'])
    }
    const reg = await node.token({ name: 'reg', role: 'registration' })
    const none = await raw(port, 'POST', '/api/patients', {
      headers: { authorization: `Bearer ${reg}` },
      body: '{}',
    })
    expect([none.status, errName(none)]).toEqual([415, 'UnsupportedMediaTypeError'])
    const ok = await raw(port, 'POST', '/api/login', {
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ user: 'admin', password: TEST_ADMIN_PASSWORD }),
    })
    expect(ok.status).toBe(200)
  })

  it('refuses state changes from a foreign Origin (403), serves its own origin and Origin-less clients', async () => {
    const body = JSON.stringify({
      given: 'Chikondi',
      family: 'Banda',
      birthDate: '1991-01-01',
      sex: 'female',
    })
    const auth = {
      'content-type': 'application/json',
      authorization: `Bearer ${await node.token({ name: 'reg', role: 'registration' })}`,
    }
    for (const origin of [
      'http://evil.example',
      `http://evil.example:${port}`,
      `https://127.0.0.1:${port}`,
      `http://localhost:${port + 1}`,
      'null',
    ]) {
      const r = await raw(port, 'POST', '/api/patients', { headers: { ...auth, origin }, body })
      expect([origin, r.status, errName(r)]).toEqual([origin, 403, 'ForbiddenOriginError'])
    }
    const login = await raw(port, 'POST', '/api/login', {
      headers: { 'content-type': 'application/json', origin: 'http://evil.example' },
      body: JSON.stringify({ user: 'admin', password: 'x' }),
    })
    expect([login.status, errName(login)]).toEqual([403, 'ForbiddenOriginError'])
    expect(
      (
        await raw(port, 'POST', '/api/patients', {
          headers: { ...auth, origin: `http://127.0.0.1:${port}` },
          body,
        })
      ).status,
    ).toBe(201)
    expect(
      (
        await raw(port, 'POST', '/api/patients', {
          headers: { ...auth, host: `localhost:${port}`, origin: `http://localhost:${port}` },
          body,
        })
      ).status,
    ).toBe(201)
    expect((await raw(port, 'POST', '/api/patients', { headers: auth, body })).status).toBe(201)
    // reads carry no Origin check (a cross-origin page cannot read the answer anyway)
    expect(
      (await raw(port, 'GET', '/api/status', { headers: { origin: 'http://evil.example' } })).status,
    ).toBe(200)
  })

  it('refuses a /sync upgrade from a foreign Origin even with a valid session cookie', async () => {
    const cookie = `cm_session=${admin}`
    expect(await upgrade(port, '/sync', { cookie, origin: 'http://evil.example' })).toEqual({
      status: 403,
      name: 'ForbiddenOriginError',
    })
    expect(await upgrade(port, '/sync', { cookie, origin: `http://evil.example:${port}` })).toEqual({
      status: 403,
      name: 'ForbiddenOriginError',
    })
    expect((await upgrade(port, '/sync', { cookie, origin: `http://127.0.0.1:${port}` })).status).toBe(101)
    expect((await upgrade(port, '/sync', { cookie })).status).toBe(101)
  })

  it('refuses a foreign Host (DNS rebinding) on the API, the static app and /sync; serves loopback and --allow-host names', async () => {
    for (const host of [
      `evil.example:${port}`,
      'evil.example',
      `127.0.0.1.evil.example:${port}`,
      `localhost:${port + 1}`,
    ]) {
      for (const path of ['/api/status', '/', '/index.html']) {
        const r = await raw(port, 'GET', path, { headers: { host } })
        expect([host, path, r.status, errName(r)]).toEqual([host, path, 421, 'ForbiddenHostError'])
      }
      const login = await raw(port, 'POST', '/api/login', {
        headers: { host, 'content-type': 'application/json' },
        body: JSON.stringify({ user: 'admin', password: TEST_ADMIN_PASSWORD }),
      })
      expect([host, login.status]).toEqual([host, 421])
      expect([host, await upgrade(port, '/sync', { host, cookie: `cm_session=${admin}` })]).toEqual([
        host,
        { status: 421, name: 'ForbiddenHostError' },
      ])
    }
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `[::1]:${port}`,
      'tablet.clinic.lan',
      `tablet.clinic.lan:${port}`,
    ]) {
      expect([host, (await raw(port, 'GET', '/api/status', { headers: { host } })).status]).toEqual([
        host,
        200,
      ])
      expect([host, (await raw(port, 'GET', '/', { headers: { host } })).status]).toEqual([host, 200])
    }
    expect(
      (
        await upgrade(port, '/sync', {
          host: 'tablet.clinic.lan',
          origin: 'http://tablet.clinic.lan',
          cookie: `cm_session=${admin}`,
        })
      ).status,
    ).toBe(101)
  })

  it('sends CSP, nosniff, frame-ancestors, X-Frame-Options and no-referrer on the app and the API', async () => {
    for (const path of ['/', '/api/status', '/api/nope']) {
      const r = await raw(port, 'GET', path)
      const csp = String(r.headers['content-security-policy'] ?? '')
      expect([path, csp]).toEqual([path, expect.stringContaining("default-src 'self'")])
      expect(csp).toContain("frame-ancestors 'none'")
      expect(csp).toContain("connect-src 'self'")
      expect([
        r.headers['x-content-type-options'],
        r.headers['x-frame-options'],
        r.headers['referrer-policy'],
      ]).toEqual(['nosniff', 'DENY', 'no-referrer'])
    }
  })

  it('the app loads, signs in and syncs in Chromium under its CSP with no violation', async () => {
    const browser = await launchChromium()
    try {
      const page = await (await browser.newContext()).newPage()
      page.setDefaultTimeout(30_000)
      // every CSP report the page raises; console lines in case a report is missed
      const refusals: string[] = []
      page.on('console', (m) => {
        if (/Content.Security.Policy|Refused to/i.test(m.text())) refusals.push(m.text())
      })
      await page.addInitScript({
        content:
          "document.addEventListener('securitypolicyviolation', (e) => (window.__csp ??= []).push(e.violatedDirective + ' ' + e.blockedURI + ' ' + JSON.stringify(e.sample)))",
      })
      await page.goto(`http://127.0.0.1:${port}/`)
      await signIn(page, 'csp-nurse', 'nurse')
      await page.getByTestId('status-device').getByText('Connected to tablet').waitFor()
      const seen = await page.evaluate<string[]>('window.__csp ?? []')
      // the one expected report: cbor-x (automerge-repo's wire format) probes `Function('')` once at load and, refused,
      // decodes without generated code; the CSP keeps eval off. Anything else (a blocked script, style, socket) fails.
      const probe = 'script-src eval ""'
      expect(seen.filter((v) => v !== probe)).toEqual([])
      expect(refusals.filter((r) => !/evaluate a string as JavaScript/.test(r))).toEqual([])
    } finally {
      await browser.close()
    }
  })

  it('spends the same scrypt time on an unknown user name as on a wrong password', async () => {
    const timed = async (user: string): Promise<number> => {
      const t = performance.now()
      const r = await raw(port, 'POST', '/api/login', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user, password: 'not-the-password' }),
      })
      expect([user, r.status, errName(r)]).toEqual([user, 401, 'InvalidPasswordError'])
      return performance.now() - t
    }
    // one wrong password per known user (a second one within a second meets the back-off, 423)
    for (const i of [1, 2, 3]) await node.token({ name: `timing-${i}`, role: 'nurse' })
    // interleaved pairs on the same node, compared by median: the machine's load moves both alike, while an unknown
    // name that skipped the password's scrypt (~300 ms here) would answer in about a millisecond
    const known: number[] = []
    const unknown: number[] = []
    for (const [i, name] of ['nobody-here', 'usr_nobody_either', 'Ghost User'].entries()) {
      known.push(await timed(`timing-${i + 1}`))
      unknown.push(await timed(name))
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[1]!
    console.warn('login timing (ms)', {
      wrongPassword: known.map(Math.round),
      unknownUser: unknown.map(Math.round),
    })
    expect(median(unknown)).toBeGreaterThanOrEqual(median(known) * 0.5)
  })

  it('rate-limits join offers per address (429) and refuses the join endpoint to web pages', async () => {
    const offer = await node.api<{ url: string }>(
      'POST',
      '/api/join-codes',
      {},
      { as: { name: 'admin', role: 'admin' } },
    )
    expect(offer.status).toBe(201)
    const url = new URL(offer.body.url)
    const post = (origin?: string): Promise<Raw> =>
      raw(Number(url.port), 'POST', '/join/offer', {
        headers: { host: url.host, 'content-type': 'application/json', ...(origin ? { origin } : {}) },
        body: JSON.stringify({ sid: randomBytes(16).toString('hex'), y: '00'.repeat(32) }),
      })
    expect(errName(await post('http://evil.example'))).toBe('ForbiddenOriginError')
    const names: (string | undefined)[] = []
    for (let i = 0; i < 10; i++) names.push(errName(await post()))
    expect(names.slice(0, 8).every((n) => n === 'JoinError')).toBe(true)
    expect(names.slice(8)).toEqual(['TooManyRequestsError', 'TooManyRequestsError'])
    const r = await post()
    expect([r.status, errName(r)]).toEqual([429, 'TooManyRequestsError'])
    expect(node.exited).toBe(false)
  })
})

describe('the relay web surface against a hostile page', () => {
  let dir: TempDir
  let relay: RelayProcess
  let dev: TestDevice

  beforeAll(async () => {
    dir = await tempDir('relay-web-surface')
    relay = await RelayProcess.start(dir.path, 0, ['--allow-host', 'relay.example.org'])
    dev = new TestDevice(relay.syncUrl, 'clinic-w', 'dev-w')
    dev.createClinic()
  })
  afterAll(async () => {
    await dev?.close()
    await relay?.stop()
    await dir?.remove()
  })

  it('caps outstanding nonces per address (429) while another client still registers and syncs', async () => {
    const names: (string | undefined)[] = []
    const statuses: number[] = []
    for (let i = 0; i < 40; i++) {
      const r = await raw(relay.port, 'GET', '/api/challenge', { localAddress: '127.0.0.2' })
      statuses.push(r.status)
      names.push(errName(r))
    }
    expect(statuses.slice(0, 32).every((s) => s === 200)).toBe(true)
    expect(statuses.slice(32)).toEqual(Array(8).fill(429))
    expect(names[39]).toBe('TooManyRequestsError')
    const reg = await dev.register(relay)
    expect(reg.status).toBe(201)
    expect(relay.exited).toBe(false)
  })

  it('refuses text/plain bodies (415), foreign Origins (403, also /sync with a valid proof) and foreign Hosts (421)', async () => {
    const plain = await raw(relay.port, 'POST', '/api/clinics', {
      headers: { 'content-type': 'text/plain' },
      body: '{}',
    })
    expect([plain.status, errName(plain)]).toEqual([415, 'UnsupportedMediaTypeError'])
    const foreign = await raw(relay.port, 'POST', '/api/clinics', {
      headers: { 'content-type': 'application/json', origin: 'http://evil.example' },
      body: '{}',
    })
    expect([foreign.status, errName(foreign)]).toEqual([403, 'ForbiddenOriginError'])
    const own = await raw(relay.port, 'POST', '/api/clinics', {
      headers: { 'content-type': 'application/json', origin: `http://127.0.0.1:${relay.port}` },
      body: '{}',
    })
    expect([own.status, errName(own)]).toEqual([400, 'InvalidInputError'])
    const peer = dev.repo.peerId as string
    const sync = async (headers: Record<string, string>): Promise<{ status: number; name?: string }> => {
      const url = new URL(await syncUrlFor(httpBase(relay.syncUrl), peer, dev.key))
      return upgrade(relay.port, `${url.pathname}${url.search}`, headers)
    }
    expect(await sync({ origin: 'http://evil.example' })).toEqual({
      status: 403,
      name: 'ForbiddenOriginError',
    })
    expect(await sync({ host: `evil.example:${relay.port}` })).toEqual({
      status: 421,
      name: 'ForbiddenHostError',
    })
    expect((await sync({})).status).toBe(101)
    for (const path of ['/api/status', '/', '/api/challenge']) {
      const r = await raw(relay.port, 'GET', path, { headers: { host: `evil.example:${relay.port}` } })
      expect([path, r.status, errName(r)]).toEqual([path, 421, 'ForbiddenHostError'])
    }
    expect(
      (await raw(relay.port, 'GET', '/api/status', { headers: { host: 'relay.example.org' } })).status,
    ).toBe(200)
    const status = await raw(relay.port, 'GET', '/api/status')
    expect([
      status.headers['x-content-type-options'],
      status.headers['x-frame-options'],
      status.headers['referrer-policy'],
    ]).toEqual(['nosniff', 'DENY', 'no-referrer'])
    expect(String(status.headers['content-security-policy'])).toContain("frame-ancestors 'none'")
  })
})
