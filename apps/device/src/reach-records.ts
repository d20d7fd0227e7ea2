import type { DocHandle } from '@automerge/automerge-repo'
import type { PrivateKey } from '@libp2p/interface'
import { REACH_MAX_ADDRESSES, type ReachClaim } from '@clinic-mesh/contracts'
import { signReach, verifyReach, type MeshNode } from '@clinic-mesh/mesh'
import type { MembershipDoc } from './device-node-init.js'
import { log } from './log.js'

/** How often a device checks whether its own addresses changed (a hotspot switched on, a new DHCP lease). */
export const REACH_REFRESH_MS = 15_000

export interface ReachRecordsInit {
  mesh: Pick<MeshNode, 'discovery' | 'suggestAddresses'>
  clinic: string
  /** this device's peer id */
  self: string
  /** this device's libp2p key: its reach record is signed with it */
  privateKey: PrivateKey
  /** stop publishing (device stopped or revoked) */
  done: () => boolean
  refreshMs?: number
}

/**
 * Reach records in the membership document (docs/protocols/sync.md): each device writes where it listens, signed
 * with its own key, and every device adds the verified records of the others to its address book. So a tablet knows
 * how to dial a device it has never met (a new tablet, client isolation on the hotspot) once any member synced the
 * membership document to it. A record that fails verification is ignored (logged by peer id, never applied).
 */
export function followReachRecords(h: DocHandle<MembershipDoc>, o: ReachRecordsInit): void {
  const verified = new Map<string, ReachClaim | null>() // by signature
  const apply = async (d: MembershipDoc): Promise<void> => {
    for (const [peer, raw] of Object.entries(d.reach ?? {})) {
      if (peer === o.self) continue
      const plain = JSON.parse(JSON.stringify(raw)) as { signature?: unknown }
      const key = typeof plain.signature === 'string' ? plain.signature : ''
      if (!verified.has(key)) {
        const r = await verifyReach(plain, o.clinic)
        verified.set(key, r !== null && r.devicePeerId === peer ? r : null)
        if (verified.get(key) === null) log('reach-record-ignored', { peer })
      }
      const claim = verified.get(key)
      if (claim) o.mesh.suggestAddresses(peer, claim.addrs)
    }
  }
  const publish = async (): Promise<void> => {
    const addrs = ownAddresses(o.mesh.discovery().addresses)
    const mine = h.doc().reach?.[o.self] as { addrs?: unknown } | undefined
    if (addrs.length === 0 || sameList(mine?.addrs, addrs)) return
    const claim = await signReach({ clinic: o.clinic, addrs }, o.privateKey)
    if (o.done()) return
    h.change((d) => {
      d.reach ??= {}
      d.reach[o.self] = claim
    })
  }
  const failed = (err: unknown): void =>
    log('reach-record-failed', { error: err instanceof Error ? err.name : 'unknown' })
  h.on('change', ({ doc }) => void apply(doc).catch(failed))
  void apply(h.doc()).catch(failed)
  void publish().catch(failed)
  const timer = setInterval(() => {
    if (o.done()) clearInterval(timer)
    else void publish().catch(failed)
  }, o.refreshMs ?? REACH_REFRESH_MS)
  timer.unref()
}

/** The addresses worth claiming: LAN ones (loopback only when there is nothing else), sorted, at most the cap. */
export function ownAddresses(all: readonly string[]): string[] {
  const lan = all.filter((a) => !a.startsWith('/ip4/127.') && !a.startsWith('/ip6/::1/'))
  return [...new Set(lan.length > 0 ? lan : all)].sort().slice(0, REACH_MAX_ADDRESSES)
}

function sameList(a: unknown, b: readonly string[]): boolean {
  if (!Array.isArray(a) || a.length !== b.length) return false
  const sorted = [...(a as string[])].sort()
  return sorted.every((x, i) => x === b[i])
}
