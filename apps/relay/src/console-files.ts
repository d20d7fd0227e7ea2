import { readFile, realpath, stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Where `npm run build -w @clinic-mesh/web` writes the web build (apps/relay/dist → apps/web/dist). */
export const DEFAULT_WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url))

/** The reviewer console's page inside the web build. */
export const CONSOLE_PAGE = 'review.html'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
}

/**
 * The console acts on stock (resolutions): it may not be framed (clickjacking), runs only its own scripts and talks
 * only to this relay. `'unsafe-inline'` styles: Svelte's `style:` directives set style attributes.
 */
const HTML_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
}

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>clinic-mesh relay</title></head>
<body><h1>clinic-mesh relay</h1><p>The reviewer console is not built (<code>npm run build -w @clinic-mesh/web</code>).
The reviewer API is at <a href="/api/conflicts">/api/conflicts</a> and <a href="/api/status">/api/status</a>.</p></body></html>`

/** A path segment we never serve: empty, dot segments, hidden files, NUL, backslashes (Windows separators). */
function badSegment(s: string): boolean {
  return s === '' || s.startsWith('.') || s.includes('\0') || s.includes('\\')
}

/**
 * Map a URL path onto a file of the web build the relay may serve: `/` (and `/review.html`) is the console page,
 * `/assets/…` the build's hashed assets. Everything else — the tablet app's index.html and service worker (they
 * need a device node), dot files, traversal — is not served (null).
 */
export function consoleFile(root: string, urlPath: string): string | null {
  let path: string
  try {
    path = decodeURIComponent(urlPath)
  } catch {
    return null
  }
  if (path === '/' || path === `/${CONSOLE_PAGE}`) return join(root, CONSOLE_PAGE)
  if (!path.startsWith('/assets/')) return null
  const segments = path.slice(1).split('/')
  if (segments.some(badSegment)) return null
  const base = resolve(root)
  const file = resolve(base, ...segments)
  return file.startsWith(base + sep) ? file : null
}

function notFound(res: ServerResponse, method: string, path: string): void {
  const text = JSON.stringify({
    error: { name: 'RouteNotFoundError', message: `no route ${method} ${path}` },
  })
  res.writeHead(404, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  })
  res.end(method === 'HEAD' ? undefined : text)
}

/**
 * Serve the reviewer console (GET/HEAD) from the web build under `root`. Symlinks that lead out of the build are
 * refused; html is revalidated on every load, hashed assets are cached for a year.
 */
export async function serveConsole(
  root: string,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  const method = req.method ?? 'GET'
  const file = consoleFile(root, path)
  if (file === null) return notFound(res, method, path)
  const info = await stat(file).catch(() => undefined)
  if (!info?.isFile()) {
    if (file.endsWith(CONSOLE_PAGE)) {
      res
        .writeHead(200, { 'content-type': TYPES['.html']!, 'cache-control': 'no-cache', ...HTML_HEADERS })
        .end(method === 'HEAD' ? undefined : NOT_BUILT)
      return
    }
    return notFound(res, method, path)
  }
  const [realRoot, realFile] = await Promise.all([realpath(root), realpath(file)])
  if (!realFile.startsWith(realRoot + sep)) return notFound(res, method, path)
  const type = TYPES[extname(file)] ?? 'application/octet-stream'
  const html = file.endsWith('.html')
  const headers = {
    'content-type': type,
    'content-length': info.size,
    'cache-control': html ? 'no-cache' : 'public, max-age=31536000, immutable',
    'x-content-type-options': 'nosniff',
    ...(html ? HTML_HEADERS : {}),
  }
  if (method === 'HEAD') {
    res.writeHead(200, headers).end()
    return
  }
  res.writeHead(200, headers).end(await readFile(file))
}
