import type { MembershipDoc } from '@clinic-mesh/contracts'
import { verifyEnrolment, verifyRevocation, type Enrolment, type Revocation } from '@clinic-mesh/mesh'
import type { Logger } from './logger.js'

/**
 * A clinic's device peers as its admins vouched for them: any member can write the membership document, so an
 * enrolment or revocation counts only when signed by one of the clinic's pinned admin keys (an unsigned revocation
 * must not cut an honest tablet off; an unsigned enrolment must not make a stranger's key a signer). Returns peer →
 * null (enrolled) or the time it was revoked. A refused record is logged once (`refused` remembers it).
 */
export function vouchedPeers(
  membership: Partial<MembershipDoc>,
  clinic: string,
  adminKeys: readonly string[],
  refused: Set<string>,
  log: Logger,
): Record<string, string | null> {
  const records = JSON.parse(
    JSON.stringify({ e: membership.enrolments ?? {}, r: membership.revocations ?? {} }),
  ) as {
    e: Record<string, unknown>
    r: Record<string, unknown>
  }
  const admins = adminKeys.map((k) => k.toLowerCase())
  const believed = <T extends { devicePeerId: string }>(
    kind: string,
    id: string,
    rec: unknown,
    verify: (r: T) => void,
  ): T | undefined => {
    try {
      if (typeof rec !== 'object' || rec === null) throw new Error('not a record')
      const r = rec as T
      if (r.devicePeerId !== id) throw new Error(`filed under ${id} but names ${String(r.devicePeerId)}`)
      verify(r)
      return r
    } catch (err) {
      const key = `${kind}:${id}:${JSON.stringify(rec)}`
      if (!refused.has(key)) {
        refused.add(key)
        log('membership-record-refused', {
          clinic,
          kind,
          peer: id,
          error: err instanceof Error ? err.name : 'Error',
          message: err instanceof Error ? err.message : '',
        })
      }
      return undefined
    }
  }
  const peers: Record<string, string | null> = {}
  for (const [id, rec] of Object.entries(records.e)) {
    if (believed<Enrolment>('enrolment', id, rec, (e) => verifyEnrolment(e, clinic, admins))) peers[id] = null
  }
  for (const [id, rec] of Object.entries(records.r)) {
    const r = believed<Revocation>('revocation', id, rec, (v) => verifyRevocation(v, clinic, admins))
    if (r) peers[id] = r.revokedAt
  }
  return peers
}
