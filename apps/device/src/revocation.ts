import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { DocHandle } from '@automerge/automerge-repo'
import { InvalidInputError, type RevokeDeviceRequest } from '@clinic-mesh/contracts'
import { signRevocation } from '@clinic-mesh/mesh'
import { log } from './log.js'
import { ATTEMPTS_FILE, SESSIONS_FILE, USER_VERSIONS_FILE } from './auth.js'
import { ADMIN_PASSWORD_FILE } from './auth-bootstrap.js'
import { KEY_FILE, REPO_DIR } from './storage-at-rest.js'
import { ADMIN_KEY_FILE } from './admin-key.js'
import type { MembershipDoc } from './device-node-init.js'

/**
 * Every revocation this device verified (mesh `RevocationFile`): fed back into its membership at each start, so a
 * revocation deleted from the synced membership document re-admits nobody. Kept through a wipe (it is not clinic
 * data, and it is what says this device was revoked).
 */
export const REVOCATIONS_FILE = 'revocations.json'

/**
 * Revokes a device (a lost tablet): a revocation signed with the clinic admin key goes into the membership document.
 * Every member's gater then drops and refuses that peer; the relay stops trusting its operations signed after
 * `revokedAt`; the device itself wipes its clinic data when the record reaches it. `adminKey` is the clinic admin
 * secret key from the acting admin's unlocked session (admin-routes.ts), never read from disk in clear.
 */
export function revokeDevice(
  membershipDoc: DocHandle<MembershipDoc>,
  adminKey: Uint8Array,
  clinic: string,
  input: RevokeDeviceRequest,
): { peerId: string; revokedAt: string } {
  if (!Object.hasOwn(membershipDoc.doc()?.enrolments ?? {}, input.peerId))
    throw new InvalidInputError(`${input.peerId} is not enrolled in this clinic`)
  const r = signRevocation({ clinic, devicePeerId: input.peerId, reason: input.reason }, adminKey)
  membershipDoc.change((d) => {
    d.revocations[r.devicePeerId] = { ...r }
  })
  return { peerId: r.devicePeerId, revokedAt: r.revokedAt }
}

/**
 * A revoked device wipes its clinic data: the repo (every chart, log and index), sessions, login counters, the
 * users' version marks, the storage key file and (a revoked founder) the wrapped clinic admin key. Its identity key and config stay so the log can say which device
 * this was.
 */
export async function wipeClinicData(dataDir: string): Promise<void> {
  for (const name of [
    REPO_DIR,
    SESSIONS_FILE,
    ATTEMPTS_FILE,
    USER_VERSIONS_FILE,
    KEY_FILE,
    ADMIN_PASSWORD_FILE,
    ADMIN_KEY_FILE,
  ]) {
    // a storage write that began before the seal may still add a file while the tree goes: rm retries ENOTEMPTY
    await rm(join(dataDir, name), { recursive: true, force: true, maxRetries: 10, retryDelay: 100 })
  }
  log('device-revoked-wiped', {})
}

/** Wipes, retrying a failed pass (a file still held) up to five times, logged; never leaves the data silently in place. */
export async function wipeClinicDataRetrying(dataDir: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await wipeClinicData(dataDir)
    } catch (err) {
      log('device-wipe-failed', {
        attempt,
        error: err instanceof Error ? err.name : 'unknown',
        code: (err as NodeJS.ErrnoException).code ?? null,
      })
      if (attempt >= 5) throw err
      await new Promise((r) => setTimeout(r, 500 * attempt))
    }
  }
}
