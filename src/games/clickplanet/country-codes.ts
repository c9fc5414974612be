import isoCountries from 'i18n-iso-countries'

/**
 * The country ids a click may carry: officially assigned ISO 3166-1 alpha-2 codes, lower
 * case. i18n-iso-countries also lists `XK` (Kosovo), a user-assigned code, so it is left out.
 *
 * Index 0 means "no country"; codes get 1…n in alphabetical order so an owner fits in a
 * Uint8Array. The order is not a wire or storage format: snapshots store the codes they used.
 */
export const COUNTRY_CODES: readonly string[] = Object.keys(isoCountries.getAlpha2Codes())
  .map((c) => c.toLowerCase())
  .filter((c) => c !== 'xk')
  .sort()

const indexByCode = new Map<string, number>(COUNTRY_CODES.map((c, i) => [c, i + 1]))

/** Owner index of a code, or 0 when it is not an officially assigned lower-case code. */
export function countryIndex(code: string): number {
  return indexByCode.get(code) ?? 0
}

/** Code of an owner index; '' for 0 (no owner). */
export function countryCode(index: number): string {
  return index === 0 ? '' : (COUNTRY_CODES[index - 1] ?? '')
}

export function isCountryCode(code: string): boolean {
  return indexByCode.has(code)
}
