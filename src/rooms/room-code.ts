/**
 * Room codes: four characters a person reads off a TV and types on a phone.
 *
 * The alphabet leaves out look-alikes (0/O, 1/I/L), so a code read aloud or copied by eye
 * lands where it should; with 23 letters there are 23^4 = 279,841 codes. Codes that spell a
 * rude word are never handed out.
 */
import { randomInt } from 'node:crypto'

export const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ'
export const CODE_LENGTH = 4

/**
 * Words no room code may spell. Most rude words already need an I, L or O, which the
 * alphabet lacks; these are the ones it can spell, plus a few near-misses.
 */
const BLOCKLIST = new Set([
  'FUCK', 'FUKK', 'FUXK', 'FVCK', 'PHUK', 'PHUC', 'SHAT', 'CUNT', 'DUMB', 'CRAP', 'DAMN', 'TURD', 'TWAT',
  'WANK', 'JERK', 'SPAZ', 'SUCK', 'SCUM', 'HUMP', 'NAZI', 'KKKK', 'RAPE', 'PUKE', 'DYKE', 'FAGG', 'FAGS',
  'SEXY', 'ANUS', 'ARSE', 'TITS', 'BUTT', 'DAGO', 'GYPS', 'JAPS', 'KIKE', 'MUFF', 'NEGR', 'PAKI', 'SPIC',
  'THUG', 'WTFF', 'STFU', 'GTFU', 'FUCT', 'KUNT', 'CUMS', 'JAVA',
])

export function isBlocked(code: string): boolean {
  return BLOCKLIST.has(code)
}

/**
 * A random code that spells no blocked word (cryptographic randomness). Tests draw from a
 * smaller alphabet to reach a full space quickly.
 */
export function randomCode(alphabet: string = CODE_ALPHABET): string {
  for (;;) {
    let code = ''
    for (let i = 0; i < CODE_LENGTH; i++) code += alphabet[randomInt(alphabet.length)]
    if (!isBlocked(code)) return code
  }
}

/** Joining is case-insensitive: `/kqzt` is `/KQZT`. */
export function normalizeCode(raw: string): string {
  return raw.toUpperCase()
}
