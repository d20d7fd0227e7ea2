/** The clinic roles (seed 001 offline matrix, BRIEF). */
export const ROLES = [
  'registration',
  'nurse',
  'clinician',
  'pharmacist',
  'supervisor',
  'reviewer',
  'admin',
] as const
export type Role = (typeof ROLES)[number]

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value)
}
