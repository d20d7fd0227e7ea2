/** What the node accepts as a password (docs/api.md: 8-200 characters), checked in the browser before asking it. */
export const MIN_PASSWORD = 8
export const MAX_PASSWORD = 200

/**
 * The browser-side checks of a new password typed twice: a sentence for the person at the tablet, or undefined
 * when it may go to the node. `what` names the field in the sentence ("The password", "The new password").
 */
export function checkNewPassword(password: string, again: string, what = 'The password'): string | undefined {
  if (password.length < MIN_PASSWORD) return `${what} needs at least ${MIN_PASSWORD} characters.`
  if (password.length > MAX_PASSWORD) return `${what} can have at most ${MAX_PASSWORD} characters.`
  if (password !== again) return 'The two passwords are not the same. Type them again.'
  return undefined
}
