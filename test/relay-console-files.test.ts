import { mkdir, symlink, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { tempDir, type TempDir } from '@clinic-mesh/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConsoleRelay } from './helpers/reviewer-relay.js'

/** GET with the path sent exactly as written (fetch would normalise `..` and `%2e%2e` before sending). */
function rawGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      )
    })
    req.on('error', reject)
    req.end()
  })
}

describe('relay: static files of the reviewer console (real relay process, --web-dist)', () => {
  let dir: TempDir
  let relay: ConsoleRelay
  let unbuilt: ConsoleRelay

  beforeAll(async () => {
    dir = await tempDir('relay-console-')
    const dist = join(dir.path, 'dist')
    await mkdir(join(dist, 'assets'), { recursive: true })
    await writeFile(join(dist, 'review.html'), '<!doctype html><title>console</title>')
    await writeFile(join(dist, 'index.html'), '<!doctype html><title>tablet</title>')
    await writeFile(join(dist, 'sw.js'), '// worker')
    await writeFile(join(dist, 'assets', 'app-1a2b.js'), 'export {}')
    await writeFile(join(dist, 'assets', 'app-1a2b.css'), 'body{}')
    await writeFile(join(dist, 'assets', 'mod.wasm'), new Uint8Array([0, 97, 115, 109]))
    await writeFile(join(dist, 'assets', '.env'), 'SECRET=1')
    await writeFile(join(dir.path, 'outside.js'), 'secret')
    await symlink(join(dir.path, 'outside.js'), join(dist, 'assets', 'escape.js'))
    await mkdir(join(dir.path, 'data-a'))
    await mkdir(join(dir.path, 'data-b'))
    ;[relay, unbuilt] = await Promise.all([
      ConsoleRelay.start(join(dir.path, 'data-a'), dist),
      ConsoleRelay.start(join(dir.path, 'data-b'), join(dir.path, 'nothing-here')),
    ])
  })
  afterAll(async () => {
    await Promise.all([relay?.stop(), unbuilt?.stop()])
    await dir?.remove()
  })

  it('serves review.html at / and the build assets with their content types, GET and HEAD', async () => {
    for (const path of ['/', '/review.html']) {
      const res = await fetch(`${relay.url}${path}`)
      expect([path, res.status, res.headers.get('content-type'), res.headers.get('cache-control')]).toEqual([
        path,
        200,
        'text/html; charset=utf-8',
        'no-cache',
      ])
      expect(await res.text()).toContain('<title>console</title>')
      expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
      expect(res.headers.get('x-frame-options')).toBe('DENY')
    }
    const types: [string, string][] = [
      ['/assets/app-1a2b.js', 'text/javascript; charset=utf-8'],
      ['/assets/app-1a2b.css', 'text/css; charset=utf-8'],
      ['/assets/mod.wasm', 'application/wasm'],
    ]
    for (const [path, type] of types) {
      const res = await fetch(`${relay.url}${path}`)
      expect([
        path,
        res.status,
        res.headers.get('content-type'),
        res.headers.get('x-content-type-options'),
      ]).toEqual([path, 200, type, 'nosniff'])
      expect(res.headers.get('cache-control')).toContain('immutable')
    }
    const head = await fetch(`${relay.url}/assets/app-1a2b.js`, { method: 'HEAD' })
    expect([head.status, head.headers.get('content-length'), await head.text()]).toEqual([200, '9', ''])
  })

  it('refuses traversal, encoded separators, dot files, symlinks out of the build and the tablet app; the API is unchanged', async () => {
    const refused = [
      '/index.html',
      '/sw.js',
      '/assets/.env',
      '/assets/escape.js',
      '/assets/../../outside.js',
      '/assets/%2e%2e/%2e%2e/outside.js',
      '/assets/..%2f..%2foutside.js',
      '/assets/..%5c..%5coutside.js',
      '/assets/%00.js',
      '/assets/%E0%A4%A',
      '/assets/',
      '/assets',
      '/assets/missing.js',
      '/etc/passwd',
    ]
    for (const path of refused) {
      const res = await fetch(`${relay.url}${path}`)
      const body = (await res.json()) as { error: { name: string } }
      expect([path, res.status, body.error.name]).toEqual([path, 404, 'RouteNotFoundError'])
    }
    for (const path of [
      '/assets/../../outside.js',
      '/assets/%2e%2e/%2e%2e/outside.js',
      '/assets/./../../outside.js',
      '/../outside.js',
      '/assets//etc/passwd',
    ]) {
      const res = await rawGet(relay.port, path)
      expect([path, res.status]).toEqual([path, 404])
      expect(res.body).not.toContain('secret')
    }
    const post = await fetch(`${relay.url}/`, { method: 'POST', body: '{}' })
    expect(post.status).toBe(404)
    const api = await fetch(`${relay.url}/api/status`)
    expect([api.status, api.headers.get('content-type')]).toEqual([200, 'application/json; charset=utf-8'])
    expect(
      ((await (await fetch(`${relay.url}/api/nope`)).json()) as { error: { name: string } }).error.name,
    ).toBe('RouteNotFoundError')
    expect(relay.stderr.join('\n')).not.toMatch(/api-error|uncaught|unhandled/)
  })

  it('says the console is not built when the web build is missing', async () => {
    const res = await fetch(`${unbuilt.url}/`)
    expect([res.status, res.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8'])
    expect(await res.text()).toContain('not built')
    expect((await fetch(`${unbuilt.url}/assets/app.js`)).status).toBe(404)
  })
})
