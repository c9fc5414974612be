/** Countries as people see them: a name in the page's language, a flag, a colour. */

const names = (() => {
  try {
    return new Intl.DisplayNames([...(navigator.languages ?? []), 'en'], { type: 'region' })
  } catch {
    return undefined
  }
})()

/** "France" for "fr" (in the browser's language); the code itself where there is no name. */
export function countryName(cc: string): string {
  try {
    return names?.of(cc.toUpperCase()) ?? cc.toUpperCase()
  } catch {
    return cc.toUpperCase()
  }
}

/** The flag emoji (two regional indicator letters); fonts without flags show the letters. */
export function flagOf(cc: string): string {
  return String.fromCodePoint(...[...cc.toUpperCase()].map((c) => 0x1f1e6 + c.charCodeAt(0) - 65))
}

/** A stable, distinct-enough colour per country, from its code, as [r, g, b] 0–255. */
export function rgbOf(cc: string): [number, number, number] {
  let h = 0
  for (const c of cc) h = (h * 31 + c.charCodeAt(0)) >>> 0
  const hue = (h * 137.508) % 360
  const light = 0.48 + (h % 3) * 0.08
  const sat = 0.75
  // HSL to RGB (CSS Color 4's formula).
  const f = (n: number): number => {
    const k = (n + hue / 30) % 12
    const a = sat * Math.min(light, 1 - light)
    return Math.round(255 * (light - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))))
  }
  return [f(0), f(8), f(4)]
}

/** The same colour for CSS. */
export function colorOf(cc: string): string {
  return `rgb(${rgbOf(cc).join(' ')})`
}
