import { describe, expect, it } from 'vitest'
import { clinicNetworkKey, generateAdminKey, Membership, signEnrolment, signRevocation } from '@clinic-mesh/mesh'
import type { MembershipChangeEvent } from '@clinic-mesh/mesh'

const clinic = 'clinic-a'

describe('membership', () => {
  const admin = generateAdminKey()
  const stranger = generateAdminKey()
  const tab1 = signEnrolment({ clinic, devicePeerId: 'peer-1', deviceName: 'Reception' }, admin.secretKey)

  it('admits enrolled devices and names them', () => {
    const m = new Membership({ clinic, adminPublicKeys: [admin.publicKey], enrolments: [tab1] })
    expect(m.allows('peer-1')).toBe(true)
    expect(m.deviceName('peer-1')).toBe('Reception')
    expect(m.allows('peer-2')).toBe(false)
  })

  it('rejects records signed by another key, tampered or for another clinic', () => {
    const m = new Membership({ clinic, adminPublicKeys: [admin.publicKey] })
    const forged = signEnrolment({ clinic, devicePeerId: 'peer-x', deviceName: 'X' }, stranger.secretKey)
    const tampered = { ...tab1, deviceName: 'Pharmacy' }
    const otherClinic = signEnrolment({ clinic: 'clinic-b', devicePeerId: 'peer-y', deviceName: 'Y' }, admin.secretKey)
    const badSig = { ...tab1, devicePeerId: 'peer-z', signature: 'zz' }
    const report = m.update({ enrolments: [forged, tampered, otherClinic, badSig] })
    expect(report.rejected.map((r) => r.error.name)).toEqual([
      'InvalidSignatureError',
      'InvalidSignatureError',
      'MembershipRecordError',
      'InvalidSignatureError',
    ])
    expect(report.admitted).toEqual([])
    expect(['peer-x', 'peer-1', 'peer-y', 'peer-z'].some((p) => m.allows(p))).toBe(false)
  })

  it('revocation wins over enrolment, is announced once, and update is idempotent', () => {
    const m = new Membership({ clinic, adminPublicKeys: [admin.publicKey], enrolments: [tab1] })
    const events: string[][] = []
    m.addEventListener('change', (e) => events.push((e as MembershipChangeEvent).report.revoked))
    const rev = signRevocation({ clinic, devicePeerId: 'peer-1', reason: 'tablet stolen' }, admin.secretKey)
    m.update({ enrolments: [tab1], revocations: [rev] })
    m.update({ enrolments: [tab1], revocations: [rev] })
    expect(m.allows('peer-1')).toBe(false)
    expect(m.isRevoked('peer-1')).toBe(true)
    expect(events).toEqual([['peer-1']])
  })

  it('derives one 32-byte private-network key per clinic secret', () => {
    const a = clinicNetworkKey(new Uint8Array(32).fill(1))
    expect(a.byteLength).toBe(32)
    expect(clinicNetworkKey(new Uint8Array(32).fill(1))).toEqual(a)
    expect(clinicNetworkKey(new Uint8Array(32).fill(2))).not.toEqual(a)
    expect(() => clinicNetworkKey(new Uint8Array(16))).toThrow(RangeError)
  })
})
