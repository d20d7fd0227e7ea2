import * as v from 'valibot'
import { ROLES } from './roles.js'

/** One of the clinic roles. */
export const RoleSchema = v.picklist(ROLES, `must be one of the clinic roles (${ROLES.join(', ')})`)
