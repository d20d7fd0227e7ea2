import { existsSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'
import { extname, join, normalize, sep } from 'node:path'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
}

const PLACEHOLDER = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>clinic-mesh device</title></head>
<body><h1>clinic-mesh device node</h1><p>The tablet app is not built yet (<code>npm run build -w @clinic-mesh/web</code>).
The JSON API is at <a href="/api/status">/api/status</a>.</p></body></html>`

/**
 * Serves the web app's build (`apps/web/dist`) when it exists, with the SPA fallback to index.html; otherwise a
 * placeholder page. Paths never leave the root.
 */
export async function serveStatic(root: string, path: string, res: ServerResponse): Promise<void> {
  const index = join(root, 'index.html')
  if (!existsSync(index)) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PLACEHOLDER)
    return
  }
  let rel: string
  try {
    rel = decodeURIComponent(path)
  } catch {
    rel = '/'
  }
  let file = normalize(join(root, rel))
  if (!file.startsWith(root.endsWith(sep) ? root : root + sep)) file = index
  const info = await stat(file).catch(() => undefined)
  if (!info?.isFile()) file = index
  const type = TYPES[extname(file)] ?? 'application/octet-stream'
  const cache = file === index || file.endsWith('sw.js') ? 'no-cache' : 'public, max-age=3600'
  res.writeHead(200, { 'content-type': type, 'cache-control': cache }).end(await readFile(file))
}
