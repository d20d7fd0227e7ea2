/**
 * Registers the app-shell service worker (public/sw.js) and hands it the files this page already loaded, so
 * the app opens again while the device node is down. Service workers need a secure context: on a tablet
 * reaching its node over plain http on the LAN this does nothing (the node would need https).
 */
export async function registerOfflineShell(): Promise<'registered' | 'unsupported'> {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return 'unsupported'
  await navigator.serviceWorker.register('/sw.js')
  const reg = await navigator.serviceWorker.ready
  const loaded = performance.getEntriesByType('resource').map((e) => e.name)
  reg.active?.postMessage({ cache: ['/', ...loaded] })
  return 'registered'
}
