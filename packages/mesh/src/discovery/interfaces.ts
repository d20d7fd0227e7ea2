import { networkInterfaces } from 'node:os'

/** An up, non-loopback IPv4 address of this host: one mDNS socket each. */
export interface LanInterface {
  /** interface name (eth0, wlan0, br-lan, ...) */
  name: string
  address: string
  netmask: string
}

/**
 * The host's up IPv4 interfaces other than loopback, link-local (169.254/16) included. `os.networkInterfaces()`
 * (libuv) lists only interfaces that are up and running, so a hotspot switched on later appears on the next read.
 */
export function lanInterfaces(read: typeof networkInterfaces = networkInterfaces): LanInterface[] {
  const found: LanInterface[] = []
  for (const [name, addrs] of Object.entries(read())) {
    for (const a of addrs ?? [])
      if (a.family === 'IPv4' && !a.internal) found.push({ name, address: a.address, netmask: a.netmask })
  }
  return found
}

function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.split('.').map(Number)
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined
  return (((parts[0] ?? 0) << 24) | ((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)) >>> 0
}

/** True when `ip` is on the same subnet as the interface (the link an mDNS packet from `ip` came by). */
export function onLink(iface: LanInterface, ip: string): boolean {
  const [a, b, m] = [ipv4ToInt(iface.address), ipv4ToInt(ip), ipv4ToInt(iface.netmask)]
  if (a === undefined || b === undefined || m === undefined) return false
  return (a & m) >>> 0 === (b & m) >>> 0
}

/** IPv4 link-local (169.254/16): what a device gives itself when no DHCP server answers. */
export function isLinkLocalIPv4(ip: string): boolean {
  return ip.startsWith('169.254.')
}
