/** A readable name from a user id (`usr_amina-phiri` → "Amina Phiri") until a user directory exists. */
export function personName(userId: string): string {
  const base = userId.replace(/^usr_/, '')
  return base
    .split('-')
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join(' ')
}
