export type Route =
  | { name: 'queue' }
  | { name: 'patients' }
  | { name: 'encounter'; pid: string; eid: string }
  | { name: 'pharmacy'; pid?: string; eid?: string }
  | { name: 'admin'; tab: 'users' | 'devices' }
  | { name: 'password' }

export function parseHash(hash: string): Route {
  const [name, a, b] = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent)
  if (name === 'patients') return { name: 'patients' }
  if (name === 'encounter' && a && b) return { name: 'encounter', pid: a, eid: b }
  if (name === 'pharmacy') return a && b ? { name: 'pharmacy', pid: a, eid: b } : { name: 'pharmacy' }
  if (name === 'admin') return { name: 'admin', tab: a === 'devices' ? 'devices' : 'users' }
  if (name === 'password') return { name: 'password' }
  return { name: 'queue' }
}

export function hrefOf(r: Route): string {
  if (r.name === 'encounter') return `#/encounter/${encodeURIComponent(r.pid)}/${encodeURIComponent(r.eid)}`
  if (r.name === 'pharmacy' && r.pid && r.eid)
    return `#/pharmacy/${encodeURIComponent(r.pid)}/${encodeURIComponent(r.eid)}`
  if (r.name === 'admin') return r.tab === 'devices' ? '#/admin/devices' : '#/admin'
  return `#/${r.name}`
}

/** Hash routing: works from a file-less static server and survives reloads. */
export class Router {
  current = $state<Route>(parseHash(location.hash))

  start(): () => void {
    const on = (): void => {
      this.current = parseHash(location.hash)
    }
    window.addEventListener('hashchange', on)
    return () => window.removeEventListener('hashchange', on)
  }

  go(r: Route): void {
    location.hash = hrefOf(r)
  }
}
