import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  clinicNetworkKey,
  generateAdminKey,
  Membership,
  RevocationFile,
  signEnrolment,
  signRevocation,
} from '@clinic-mesh/mesh'
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
    const otherClinic = signEnrolment(
      { clinic: 'clinic-b', devicePeerId: 'peer-y', deviceName: 'Y' },
      admin.secretKey,
    )
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

  it('a verified revocation is persisted at once; deleted from the document it re-admits nobody, also after a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'membership-'))
    try {
      const file = new RevocationFile(join(dir, 'revocations.json'))
      const saved: Promise<void>[] = []
      const m = new Membership({
        clinic,
        adminPublicKeys: [admin.publicKey],
        enrolments: [tab1],
        revocations: await file.load(),
        onRevoked: (all) => saved.push(file.save(all)),
      })
      const rev = signRevocation({ clinic, devicePeerId: 'peer-1', reason: 'tablet stolen' }, admin.secretKey)
      const forged = signRevocation({ clinic, devicePeerId: 'peer-2', reason: 'forged' }, stranger.secretKey)
      m.update({ enrolments: [tab1], revocations: [rev, forged] })
      expect(saved).toHaveLength(1)
      await Promise.all(saved)
      // the document without it (a member deleted it): nothing changes
      m.update({ enrolments: [tab1], revocations: [] })
      expect(m.allows('peer-1')).toBe(false)
      expect(saved).toHaveLength(1) // nothing new to persist
      // a restart: the document no longer holds the revocation, the file does
      const again = new Membership({
        clinic,
        adminPublicKeys: [admin.publicKey],
        enrolments: [tab1],
        revocations: await file.load(),
      })
      again.update({ enrolments: [tab1], revocations: [] })
      expect(again.allows('peer-1')).toBe(false)
      expect(again.isRevoked('peer-1')).toBe(true)
      expect(JSON.stringify(JSON.parse(await readFile(file.path, 'utf8')))).not.toContain('peer-2')
      // a file edited on disk admits nothing new: its records are verified again
      await writeFile(file.path, JSON.stringify({ revocations: [{ ...rev, devicePeerId: 'peer-3' }] }))
      expect(
        new Membership({
          clinic,
          adminPublicKeys: [admin.publicKey],
          revocations: await file.load(),
        }).isRevoked('peer-3'),
      ).toBe(false)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
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
