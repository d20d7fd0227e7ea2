/** "14:05" today, "3 Mar 14:05" otherwise; "never" when missing. */
export function when(iso: string | undefined, now = new Date()): string {
  if (!iso) return 'never'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
  if (d.toDateString() === now.toDateString()) return time
  return `${d.toLocaleDateString([], { day: 'numeric', month: 'short' })} ${time}`
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
