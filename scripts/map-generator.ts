/**
 * Builds the ClickPlanet map: points spread evenly over the sphere (a Fibonacci sphere),
 * kept when they fall on land (Natural Earth 1:50m land), numbered in order, each tagged
 * with the country it lies in (Natural Earth 1:50m admin-0 countries; world-atlas ids are
 * ISO 3166-1 numeric, mapped to alpha-2). Land in no country (disputed areas without an ISO
 * code, slivers between the land and country layers) keeps its tile, with country index 0.
 *
 * Deterministic: the same `points` gives the same bytes (inputs are the pinned world-atlas
 * files; only IEEE arithmetic and V8's fdlibm-derived Math functions are used).
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import isoCountries from 'i18n-iso-countries'
import { feature } from 'topojson-client'
import type { Topology, GeometryCollection } from 'topojson-specification'
import type { MultiPolygon, Polygon } from 'geojson'
import { encodeMapAsset } from '../src/games/clickplanet/map-format.js'
import { PolygonIndex } from './polygon-index.js'

/** Sphere size whose land gives about 258k tiles (the reference has 257,945). */
export const DEFAULT_POINTS = 897_000
/** A small map for tests: about 3k tiles. */
export const SMALL_POINTS = 10_000

export interface GeneratedMap {
  readonly asset: Buffer
  readonly tiles: number
  readonly countries: number
  readonly noCountry: number
  readonly exactTests: number
}

const require = createRequire(import.meta.url)
function topology(name: string): Topology {
  return JSON.parse(readFileSync(require.resolve(`world-atlas/${name}`), 'utf8')) as Topology
}
function polygons(topo: Topology, object: string): { id: string | undefined; geometry: Polygon | MultiPolygon }[] {
  const collection = topo.objects[object] as GeometryCollection
  const fc = feature(topo, collection)
  const list = 'features' in fc ? fc.features : [fc]
  return list
    .filter((f) => f.geometry !== null && (f.geometry.type === 'Polygon' || f.geometry.type === 'MultiPolygon'))
    .map((f) => ({ id: f.id === undefined ? undefined : String(f.id), geometry: f.geometry as Polygon | MultiPolygon }))
}

/** Point i of n on a Fibonacci sphere, as [lon, lat] in degrees. */
export function fibonacciPoint(i: number, n: number): [number, number] {
  const z = 1 - (2 * i + 1) / n
  const lat = (Math.asin(z) * 180) / Math.PI
  const golden = Math.PI * (3 - Math.sqrt(5))
  let lon = (((i * golden) % (2 * Math.PI)) * 180) / Math.PI
  if (lon > 180) lon -= 360
  return [lon, lat]
}

export function generateMap(points: number): GeneratedMap {
  const land = new PolygonIndex()
  for (const p of polygons(topology('land-50m.json'), 'land')) land.add(0, p.geometry)

  const countries = new PolygonIndex()
  const codes: string[] = []
  for (const p of polygons(topology('countries-50m.json'), 'countries')) {
    const alpha2 = p.id === undefined ? undefined : isoCountries.numericToAlpha2(p.id)
    if (alpha2 === undefined) continue
    const code = alpha2.toLowerCase()
    let k = codes.indexOf(code)
    if (k < 0) k = codes.push(code) - 1
    countries.add(k, p.geometry)
  }

  const lat: number[] = []
  const lon: number[] = []
  const found: number[] = []
  for (let i = 0; i < points; i++) {
    const [x, y] = fibonacciPoint(i, points)
    if (land.find(x, y) < 0) continue
    lat.push(y)
    lon.push(x)
    found.push(countries.find(x, y))
  }
  // Only countries that got a tile go in the table, sorted, so indices are stable.
  const used = [...new Set(found.filter((k) => k >= 0).map((k) => codes[k]!))].sort()
  const indexOf = new Map(used.map((c, i) => [c, i + 1]))
  const country = Uint8Array.from(found, (k) => (k < 0 ? 0 : indexOf.get(codes[k]!) ?? 0))
  const asset = encodeMapAsset({
    spherePoints: points, countries: used,
    lat: Float32Array.from(lat), lon: Float32Array.from(lon), country,
  })
  return {
    asset, tiles: lat.length, countries: used.length,
    noCountry: country.filter((k) => k === 0).length,
    exactTests: land.exactTests + countries.exactTests,
  }
}
