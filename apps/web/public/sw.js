// App-shell cache: the tablet can reload the app while its device node is down (network first, cache on
// failure). Data never goes through here: records live in IndexedDB (automerge-repo), /api and /sync pass by.
const CACHE = 'clinic-mesh-shell-v1'

self.addEventListener('install', () => self.skipWaiting())
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()))

function cacheable(url) {
  return url.origin === self.location.origin && !url.pathname.startsWith('/api/') && url.pathname !== '/sync'
}

// The page lists what it loaded before this worker took control (hashed assets, the wasm module).
self.addEventListener('message', (event) => {
  const urls = (event.data && event.data.cache) || []
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) =>
        Promise.all(
          urls
            .filter((u) => cacheable(new URL(u, self.location.origin)))
            .map((u) => cache.add(u).catch(() => undefined)),
        ),
      ),
  )
})

self.addEventListener('fetch', (event) => {
  const req = event.request
  const url = new URL(req.url)
  if (req.method !== 'GET' || !cacheable(url)) return
  event.respondWith(
    fetch(req)
      .then((res) => {
        if (res.ok) {
          const copy = res.clone()
          event.waitUntil(caches.open(CACHE).then((c) => c.put(req, copy)))
        }
        return res
      })
      .catch(async () => {
        const hit = await caches.match(req, { ignoreSearch: true })
        if (hit) return hit
        if (req.mode === 'navigate') return (await caches.match('/')) || Response.error()
        return Response.error()
      }),
  )
})
