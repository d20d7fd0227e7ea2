import { ESSENTIAL_MEDICINES, essentialFormularyUpdate } from '@clinic-mesh/ledger'
import { FormularySeedError } from './errors.js'

/** Idempotency id of a starting-formulary entry: a second seed (a restarted demo) is a duplicate, not a new version. */
export const seedId = (item: string): string => `formulary-seed-${item}`

/**
 * Puts the starting essential-medicines formulary (packages/ledger essential-medicines.ts) into a clinic through a
 * device's own API, signed in as an admin: the one road a formulary entry has (`POST /api/stock/formulary`, admin
 * only, signed with the admin's key; the relay settles it only from an endorsed admin). Returns how many entries were
 * new (the rest were already there).
 */
export async function seedFormulary(
  baseUrl: string,
  admin: { user: string; password: string },
): Promise<{ added: number; already: number }> {
  const json = { 'content-type': 'application/json' }
  const login = await fetch(`${baseUrl}/api/login`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify(admin),
  })
  const { token } = (await login.json().catch(() => ({}))) as { token?: string }
  if (login.status !== 200 || !token)
    throw new FormularySeedError(`sign-in as ${admin.user} refused (${login.status})`, login.status)
  let added = 0
  let already = 0
  try {
    for (const m of ESSENTIAL_MEDICINES) {
      const { kind: _kind, ...body } = essentialFormularyUpdate(m)
      const r = await fetch(`${baseUrl}/api/stock/formulary`, {
        method: 'POST',
        headers: { ...json, authorization: `Bearer ${token}` },
        body: JSON.stringify({ id: seedId(m.item), ...body }),
      })
      if (r.status === 201) added++
      else if (r.status === 200) already++
      else throw new FormularySeedError(`${m.item} refused (${r.status}): ${await r.text()}`, r.status)
    }
  } finally {
    await fetch(`${baseUrl}/api/logout`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    }).catch(() => undefined)
  }
  return { added, already }
}
