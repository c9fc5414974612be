/**
 * A player's display name, from `?name=` on its URL (web.md "Names"): 1 to 32 characters
 * (code points, so an emoji counts as one), none of them a control character. Anything else
 * is refused with 1008 before the player joins.
 */
export const MAX_NAME_CHARS = 32

const CONTROL = /\p{Cc}/u

export function isPlayerName(name: string): boolean {
  if (name.length === 0 || name.length > 2 * MAX_NAME_CHARS) return false
  let chars = 0
  for (const _ of name) if (++chars > MAX_NAME_CHARS) return false
  return !CONTROL.test(name)
}
