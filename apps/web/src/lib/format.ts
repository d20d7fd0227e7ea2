/** "14:05" today, "3 Mar 14:05" otherwise; "never" when missing. */
export function when(iso: string | undefined, now = new Date()): string {
  if (!iso) return 'never'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
  if (d.toDateString() === now.toDateString()) return time
  return `${d.toLocaleDateString([], { day: 'numeric', month: 'short' })} ${time}`
}

/**
 * When the central office last confirmed this clinic's stock, or "not yet": before the first settlement the relay
 * publishes the epoch (1 Jan 1970), which is not a time anyone confirmed anything.
 */
export function lastConfirmed(iso: string | undefined, now = new Date()): string {
  if (!iso) return 'not yet'
  const t = new Date(iso).getTime()
  if (Number.isNaN(t) || t <= 0) return 'not yet'
  return when(iso, now)
}

/**
 * A lockout in local words from the node's "account locked until <ISO time>": "until 14:35 (in 15 minutes)".
 * Undefined when the message names no time (the short back-off after one wrong password).
 */
export function lockedUntil(message: string, now = new Date()): string | undefined {
  const iso = /locked until (\S+)/.exec(message)?.[1]
  const t = iso === undefined ? NaN : new Date(iso).getTime()
  if (Number.isNaN(t)) return undefined
  const minutes = Math.max(1, Math.ceil((t - now.getTime()) / 60_000))
  return `until ${when(iso, now)} (in ${minutes === 1 ? 'a minute' : `${minutes} minutes`})`
}

/** Age in whole years from a YYYY-MM-DD birth date. */
export function age(birthDate: string, now = new Date()): string {
  const d = new Date(`${birthDate}T00:00:00`)
  if (Number.isNaN(d.getTime())) return ''
  let years = now.getFullYear() - d.getFullYear()
  if (now.getMonth() < d.getMonth() || (now.getMonth() === d.getMonth() && now.getDate() < d.getDate()))
    years--
  return years < 2
    ? `${Math.max(0, Math.floor((now.getTime() - d.getTime()) / (30.44 * 86400000)))} mo`
    : `${years} y`
}

/** The local calendar date of an ISO time as YYYY-MM-DD (unambiguous on a label, whatever the tablet's locale). */
export function localDate(iso: string): string {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const pad = (n: number): string => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`
}
