import type { DocHandle } from '@automerge/automerge-repo'
import type { Membership } from '@clinic-mesh/mesh'
import type { DeviceConfig } from './device-config.js'
import type { MembershipDoc } from './device-node-init.js'
import { log } from './log.js'

export interface MembershipFollowerInit {
  membership: Membership
  /** This device's peer id. */
  self: string
  enrolment: DeviceConfig['enrolment']
  revoked: () => boolean
  stopped: () => boolean
  /** A verified revocation of this very device arrived. */
  onSelfRevoked: () => void
}

/**
 * Feeds the clinic's membership document into the gater, notices this device's own revocation, writes back a
 * verified revocation the document lost (once each), and records this device's own enrolment in it.
 */
export function followMembership(h: DocHandle<MembershipDoc>, o: MembershipFollowerInit): void {
  const apply = (d: MembershipDoc): void => {
    const plainRecords = JSON.parse(JSON.stringify(d)) as MembershipDoc
    o.membership.update({
      enrolments: Object.values(plainRecords.enrolments ?? {}),
      revocations: Object.values(plainRecords.revocations ?? {}),
    })
    // a verified revocation of this very device: cut every link and wipe the clinic's data
    if (o.membership.isRevoked(o.self) && !o.revoked()) {
      o.onSelfRevoked()
      return
    }
    // a revocation this device holds but the document lost (a member deleted it): written back, once each
    const lost = o.membership
      .revocations()
      .filter((r) => !plainRecords.revocations?.[r.devicePeerId] && !restored.has(r.devicePeerId))
    if (lost.length > 0) {
      for (const r of lost) restored.add(r.devicePeerId)
      setImmediate(() => {
        if (o.revoked() || o.stopped()) return
        h.change((doc) => {
          doc.revocations ??= {}
          for (const r of lost) doc.revocations[r.devicePeerId] = { ...r }
        })
        log('revocations-restored', { count: lost.length })
      })
    }
  }
  const restored = new Set<string>()
  h.on('change', ({ doc }) => apply(doc))
  apply(h.doc())
  const me = o.enrolment
  if (!h.doc().enrolments?.[me.devicePeerId]) {
    h.change((d) => {
      d.enrolments ??= {}
      d.enrolments[me.devicePeerId] = { ...me }
    })
  }
}
