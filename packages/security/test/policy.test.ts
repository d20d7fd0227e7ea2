import { ROLES } from '@clinic-mesh/contracts'
import { ACTIONS, assertCan, can, decide } from '@clinic-mesh/security'
import { describe, expect, it } from 'vitest'

const OFF = { online: false }
const ON = { online: true }

describe('role and offline policy', () => {
  it('follows the seed 001 offline matrix', () => {
    expect(can('clinician', 'draft-prescription', OFF)).toBe(true)
    expect(can('pharmacist', 'dispense', OFF)).toBe(true)
    expect(can('pharmacist', 'receive-stock', OFF)).toBe(true)
    expect(can('nurse', 'record-mar', OFF)).toBe(true)
    expect(can('supervisor', 'adjust-stock', OFF)).toBe(false)
    expect(can('supervisor', 'adjust-stock', ON)).toBe(true)
    expect(can('pharmacist', 'request-adjustment', OFF)).toBe(true)
    expect(can('clinician', 'alert-override', OFF)).toBe(false)
    expect(can('clinician', 'alert-override', ON)).toBe(true)
  })

  it('roles: only clinicians prescribe, only pharmacists dispense, only admins manage users and devices', () => {
    expect(ROLES.filter((r) => can(r, 'sign-prescription', ON))).toEqual(['clinician'])
    expect(ROLES.filter((r) => can(r, 'dispense', ON))).toEqual(['pharmacist'])
    expect(ROLES.filter((r) => can(r, 'adjust-stock', ON))).toEqual(['supervisor'])
    expect(ROLES.filter((r) => can(r, 'approve-critical', ON))).toEqual(['supervisor'])
    expect(ROLES.filter((r) => can(r, 'resolve-conflict', ON)).sort()).toEqual([
      'pharmacist',
      'reviewer',
      'supervisor',
    ])
    for (const a of ['manage-users', 'enrol-device', 'revoke-device'] as const)
      expect(ROLES.filter((r) => can(r, a, OFF))).toEqual(['admin'])
    expect(can('admin', 'read-chart', ON)).toBe(false)
    expect(can('registration', 'record-vitals', OFF)).toBe(false)
  })

  it('offline signing needs a knowledge-base snapshot younger than the limit (default 7 days)', () => {
    expect(decide('clinician', 'sign-prescription', { online: false, knowledgeBaseAgeDays: 6.9 })).toEqual({
      allowed: true,
    })
    expect(
      decide('clinician', 'sign-prescription', { online: false, knowledgeBaseAgeDays: 7.1 }),
    ).toMatchObject({ allowed: false, reason: 'stale-knowledge-base' })
    expect(decide('clinician', 'sign-prescription', OFF)).toMatchObject({
      allowed: false,
      reason: 'stale-knowledge-base',
    })
    expect(
      can('clinician', 'sign-prescription', {
        online: false,
        knowledgeBaseAgeDays: 10,
        maxKnowledgeBaseAgeDays: 14,
      }),
    ).toBe(true)
    expect(can('clinician', 'sign-prescription', { online: false, knowledgeBaseAgeDays: Number.NaN })).toBe(
      false,
    )
    expect(can('clinician', 'sign-prescription', ON)).toBe(true)
  })

  it('assertCan throws ForbiddenError with the reason', () => {
    expect(() => assertCan('nurse', 'dispense', ON)).toThrow(
      expect.objectContaining({ name: 'ForbiddenError', reason: 'role' }),
    )
    expect(() => assertCan('supervisor', 'approve-critical', OFF)).toThrow(
      expect.objectContaining({ name: 'ForbiddenError', reason: 'offline' }),
    )
  })

  it('every action has at least one role allowed online', () => {
    for (const a of ACTIONS) expect(ROLES.some((r) => can(r, a, ON))).toBe(true)
  })
})
