/**
 * The role policy without anything Node-specific: what a browser imports to hide what its user may not do (the
 * device node refuses it anyway, with the same tables).
 */
export type { Action, Decision, PolicyContext } from './policy.js'
export { ACTIONS, MAX_KB_AGE_DAYS, POLICY, can, decide } from './policy.js'
export type { DocKind, FieldRule, FieldWrite, WriteAuthority, WriteDecision } from './field-policy.js'
export { READ_POLICY, WRITE_POLICY, decideWrite, fieldRule, mayRead } from './field-policy.js'
