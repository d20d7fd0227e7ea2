import type { AutomergeUrl, DocHandle } from '@automerge/automerge-repo'
import type { ClinicDirectoryDoc } from '@clinic-mesh/contracts'
import type { ChartCollection } from '@clinic-mesh/records'
import { findDoc, type ChartPull, type ClinicStore } from '@clinic-mesh/store'
import type { PrivateKey } from '@libp2p/interface'
import type { DeviceNodeInit, MembershipDoc } from './device-node-init.js'
import { keepBucketsLazy } from './lazy-buckets.js'
import { log } from './log.js'
import { followMembership } from './membership-follower.js'
import type { NodeHost } from './node-host.js'
import { followReachRecords } from './reach-records.js'

/** What the clinic's followers read of the node, and the node's private parts they need. */
export interface FollowersHost {
  readonly node: Pick<NodeHost, 'repo' | 'mesh' | 'membership' | 'peerId' | 'config' | 'revoked'>
  readonly init: Pick<DeviceNodeInit, 'bucketIdleMs' | 'reachRefreshMs'>
  /** This device's libp2p key: signs its reach record in the membership document (none: no reach record). */
  meshKey(): PrivateKey | undefined
  stopped(): boolean
  /** The membership document, once found (the revoke route writes to it). */
  onMembershipDoc(h: DocHandle<MembershipDoc>): void
  /** A new tablet's pull of the clinic's charts, today first, once started. */
  onChartPull(pull: ChartPull): void
  /** This device was revoked (its enrolment is revoked in the membership document). */
  onSelfRevoked(): Promise<void>
}

/**
 * Starts what follows the open clinic: the membership document (into the gater, with this device's own enrolment and
 * revocation), this device's reach record in it, and the chart buckets kept lazy (a new tablet pulls today first).
 * Returns the idle-bucket timer, for the node to clear at stop.
 */
export function startClinicFollowers(
  h: FollowersHost,
  dir: DocHandle<ClinicDirectoryDoc>,
  store: ClinicStore<ChartCollection>,
): NodeJS.Timeout {
  void followClinicMembership(h, dir)
  return keepBucketsLazy(store, h.node.repo.peerId, h.init.bucketIdleMs ?? 60_000, (pull) =>
    h.onChartPull(pull),
  )
}

/** Feeds the clinic's membership document into the gater and records this device's own enrolment in it. */
async function followClinicMembership(h: FollowersHost, dir: DocHandle<ClinicDirectoryDoc>): Promise<void> {
  const { node } = h
  const url = dir.doc().membership
  if (!url) return
  const doc = await findDoc<MembershipDoc>(node.repo, url as string as AutomergeUrl).catch(() => undefined)
  if (!doc) return
  h.onMembershipDoc(doc)
  followMembership(doc, {
    membership: node.membership,
    self: node.peerId,
    enrolment: node.config.enrolment,
    revoked: () => node.revoked,
    stopped: () => h.stopped(),
    onSelfRevoked: () =>
      void h
        .onSelfRevoked()
        .catch((err: unknown) =>
          log('device-wipe-gave-up', { error: err instanceof Error ? err.name : 'unknown' }),
        ),
  })
  const meshKey = h.meshKey()
  if (meshKey !== undefined)
    followReachRecords(doc, {
      mesh: node.mesh,
      clinic: node.config.clinic,
      self: node.peerId,
      privateKey: meshKey,
      done: () => h.stopped() || node.revoked,
      refreshMs: h.init.reachRefreshMs,
    })
}
