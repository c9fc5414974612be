/**
 * Generates a ClickPlanet map asset.
 *
 *   npx tsx scripts/generate-map.ts [--points N] [--out assets/map-default.bin]
 *
 * Defaults to the committed default map (897,000 sphere points → about 258k tiles); the
 * test map is `--points 10000 --out assets/map-small.bin`.
 */
import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { DEFAULT_POINTS, generateMap } from './map-generator.js'

const { values } = parseArgs({
  options: {
    points: { type: 'string', default: String(DEFAULT_POINTS) },
    out: { type: 'string', default: 'assets/map-default.bin' },
  },
})
const points = Number(values.points)
if (!Number.isInteger(points) || points < 100 || points > 50_000_000) {
  console.error(`--points must be an integer between 100 and 50000000, got ${values.points}`)
  process.exit(2)
}
const started = performance.now()
const map = generateMap(points)
writeFileSync(values.out, map.asset)
console.log(
  `${values.out}: ${map.tiles} tiles from ${points} sphere points, ${map.countries} countries, ` +
    `${map.noCountry} tiles in no country, ${map.asset.length} bytes ` +
    `(${map.exactTests} points decided by geoContains, ${Math.round(performance.now() - started)} ms)`,
)
