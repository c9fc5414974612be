import { readFileSync } from 'node:fs'
import isoCountries from 'i18n-iso-countries'
import t from 'tap'
import { DEFAULT_POINTS, generateMap, SMALL_POINTS } from '../../../scripts/map-generator.js'
import { isCountryCode } from '../../../src/games/clickplanet/country-codes.js'
import { ClickPlanetMap } from '../../../src/games/clickplanet/map.js'
import { decodeMapAsset, encodeMapAsset } from '../../../src/games/clickplanet/map-format.js'
import { SMALL_MAP } from './harness.js'

t.test('map - the generator is deterministic and made the committed small map', async (t) => {
  const a = generateMap(SMALL_POINTS)
  const b = generateMap(SMALL_POINTS)
  t.ok(a.asset.equals(b.asset), 'same input, same bytes')
  t.ok(a.asset.equals(readFileSync(SMALL_MAP)), 'assets/map-small.bin is the generator output')
  t.ok(a.tiles > 2000 && a.tiles < 5000, `small map has ${a.tiles} tiles`)
})

t.test('map - the committed default map is the generator\'s output (about a second to regenerate)', async (t) => {
  const map = generateMap(DEFAULT_POINTS)
  t.ok(map.asset.equals(ClickPlanetMap.load().asset), 'assets/map-default.bin is exactly what the generator makes')
})

t.test('map - the asset round-trips through encode and decode', async (t) => {
  const data = decodeMapAsset(readFileSync(SMALL_MAP))
  const again = encodeMapAsset({ spherePoints: data.spherePoints, countries: data.countries, lat: data.lat, lon: data.lon, country: data.country })
  t.ok(again.equals(readFileSync(SMALL_MAP)))
  const corrupt = Buffer.from(again)
  corrupt[corrupt.length - 5]! ^= 0xff
  t.throws(() => decodeMapAsset(corrupt), /checksum/)
  t.throws(() => decodeMapAsset(Buffer.from('nope, not a map at all')), /magic/)
})

t.test('map - tile ids are dense and every tile has one territory', async (t) => {
  const map = ClickPlanetMap.load(SMALL_MAP)
  const seen = new Uint8Array(map.tileCount)
  let total = 0
  for (const { id, tiles } of map.countries()) {
    const list = map.tilesOf(id)!
    t.equal(list.length, tiles)
    for (const tile of list) {
      if (seen[tile] !== 0) t.fail(`tile ${tile} listed twice`)
      seen[tile] = 1
      if (map.countryOf(tile) !== id) t.fail(`tile ${tile} listed for ${id} but is in ${map.countryOf(tile)}`)
    }
    total += tiles
  }
  t.equal(total + map.noCountryTiles, map.tileCount)
  for (let tile = 0; tile < map.tileCount; tile++) {
    const lat = map.latOf(tile), lon = map.lonOf(tile)
    if (!(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180)) t.fail(`tile ${tile} at ${lat},${lon}`)
  }
  t.notOk(map.isTile(map.tileCount))
  t.notOk(map.isTile(-1))
  t.equal(map.tilesOf('zz'), undefined)
})

t.test('map - countries are lower-case, officially assigned ISO 3166-1 alpha-2 codes', async (t) => {
  // i18n-iso-countries also knows XK (Kosovo), which ISO leaves user-assigned: not a country id.
  t.ok(isoCountries.isValid('XK'), 'the library lists XK')
  t.notOk(isCountryCode('xk'), 'the contract does not')
  for (const path of [SMALL_MAP, undefined]) {
    const map = ClickPlanetMap.load(path)
    for (const { id } of map.countries()) {
      if (!/^[a-z]{2}$/.test(id) || !isCountryCode(id) || !isoCountries.isValid(id.toUpperCase())) t.fail(`${id} is not an officially assigned code`)
    }
    t.ok(map.countries().length > 0)
  }
})

t.test('map - the default map has about a quarter of a million tiles', async (t) => {
  const map = ClickPlanetMap.load()
  t.ok(map.tileCount > 250_000 && map.tileCount < 265_000, `${map.tileCount} tiles`)
  t.ok(map.countries().length > 180, `${map.countries().length} countries`)
  for (const cc of ['fr', 'ru', 'us', 'br', 'lu']) t.ok(map.tilesOf(cc), `${cc} has territory`)
  t.ok(map.asset.length < 5 * 1024 * 1024, `asset is ${map.asset.length} bytes`)
})
