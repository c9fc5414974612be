import { readFileSync } from 'node:fs'
import { decodeMapAsset, type MapData } from './map-format.js'
import { packageFile } from './package-file.js'

/** The default map committed under assets/ (about 258k tiles). */
export function defaultMapPath(): string {
  return packageFile('assets/map-default.bin')
}

export interface CountryTiles {
  readonly id: string
  readonly tiles: number
}

/**
 * The tiles of the globe: read-only, loaded once at start. Tile ids are dense,
 * `0 … tileCount-1`. "Country" here is territory (which land a tile lies in), not owner.
 */
export class ClickPlanetMap {
  readonly #data: MapData
  readonly #tilesByCountry = new Map<string, Uint32Array>()
  readonly #summary: readonly CountryTiles[]
  readonly #noCountry: number
  /** The asset bytes, served by `GET /api/map/tiles`. */
  readonly asset: Buffer

  private constructor(asset: Buffer) {
    this.asset = asset
    this.#data = decodeMapAsset(asset)
    const { countries, country } = this.#data
    const counts = new Uint32Array(countries.length + 1)
    for (let i = 0; i < country.length; i++) counts[country[i] ?? 0]!++
    const lists = countries.map((_, k) => new Uint32Array(counts[k + 1] ?? 0))
    const fill = new Uint32Array(countries.length + 1)
    for (let i = 0; i < country.length; i++) {
      const k = country[i] ?? 0
      if (k !== 0) lists[k - 1]![fill[k]!++] = i
    }
    countries.forEach((c, k) => this.#tilesByCountry.set(c, lists[k]!))
    this.#summary = countries.map((id, k) => ({ id, tiles: counts[k + 1] ?? 0 }))
    this.#noCountry = counts[0] ?? 0
  }

  static load(path: string = defaultMapPath()): ClickPlanetMap {
    return new ClickPlanetMap(readFileSync(path))
  }

  static fromBytes(asset: Buffer): ClickPlanetMap {
    return new ClickPlanetMap(asset)
  }

  get tileCount(): number { return this.#data.country.length }
  /** CRC-32 of the asset body: snapshots made on another map are not loaded. */
  get checksum(): number { return this.#data.checksum }
  get spherePoints(): number { return this.#data.spherePoints }
  /** Land tiles that lie in no country. */
  get noCountryTiles(): number { return this.#noCountry }

  isTile(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.tileCount
  }

  /** Territory of a tile: lower-case alpha-2, or '' for land in no country. */
  countryOf(tile: number): string {
    const k = this.#data.country[tile] ?? 0
    return k === 0 ? '' : (this.#data.countries[k - 1] ?? '')
  }

  latOf(tile: number): number { return this.#data.lat[tile] ?? NaN }
  lonOf(tile: number): number { return this.#data.lon[tile] ?? NaN }

  /** Tile ids of a country's territory in increasing order; undefined when it has none. */
  tilesOf(country: string): Uint32Array | undefined {
    return this.#tilesByCountry.get(country)
  }

  /** Countries with territory on the map and their tile counts, by id. */
  countries(): readonly CountryTiles[] {
    return this.#summary
  }
}
