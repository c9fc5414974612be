/**
 * The map asset: a compact, deterministic binary file, also served as is by
 * `GET /api/map/tiles`.
 *
 * Layout (version 1, all integers little-endian):
 * ```
 * offset  size  field
 *  0       4    magic "CPMP"
 *  4       2    version = 1
 *  6       2    C, number of countries in the table
 *  8       4    T, number of tiles
 * 12       4    N, points on the Fibonacci sphere the tiles were kept from (provenance)
 * 16       4    CRC-32 of every byte from offset 24 to the end
 * 20       4    reserved, 0
 * 24      2·C   country table: ISO 3166-1 alpha-2, lower-case ASCII, sorted; entry k is
 *               country index k+1 (index 0 = land in no country)
 *  …       0–3  zero padding to a multiple of 4
 *  L      4·T   float32 latitude of each tile, degrees, tile id order
 *  L+4T   4·T   float32 longitude of each tile, degrees
 *  L+8T   1·T   uint8 country index of each tile
 * ```
 * Columns rather than records so a loader maps each one onto a typed array without copying.
 */
import { crc32 } from './crc32.js'

export const MAP_MAGIC = 'CPMP'
export const MAP_VERSION = 1
const HEADER = 24

export interface MapData {
  /** Fibonacci sphere size the tiles come from. */
  readonly spherePoints: number
  /** Country table, lower-case alpha-2, sorted; index k+1 in `country` means `countries[k]`. */
  readonly countries: readonly string[]
  readonly lat: Float32Array
  readonly lon: Float32Array
  /** Country index per tile, 0 = none. */
  readonly country: Uint8Array
  /** CRC-32 of the asset's body: identifies the map (snapshots check it). */
  readonly checksum: number
}

function tableBytes(countryCount: number): number {
  return (2 * countryCount + 3) & ~3
}

export function encodeMapAsset(data: Omit<MapData, 'checksum'>): Buffer {
  const T = data.lat.length
  const C = data.countries.length
  if (data.lon.length !== T || data.country.length !== T) throw new Error('map columns differ in length')
  if (C > 255) throw new Error('at most 255 countries fit a uint8 index')
  const L = HEADER + tableBytes(C)
  const buf = Buffer.alloc(L + 9 * T)
  buf.write(MAP_MAGIC, 0, 'latin1')
  buf.writeUInt16LE(MAP_VERSION, 4)
  buf.writeUInt16LE(C, 6)
  buf.writeUInt32LE(T, 8)
  buf.writeUInt32LE(data.spherePoints, 12)
  data.countries.forEach((c, i) => {
    if (!/^[a-z]{2}$/.test(c)) throw new Error(`bad country code ${c}`)
    buf.write(c, HEADER + 2 * i, 'latin1')
  })
  for (let i = 0; i < T; i++) {
    buf.writeFloatLE(data.lat[i] ?? 0, L + 4 * i)
    buf.writeFloatLE(data.lon[i] ?? 0, L + 4 * T + 4 * i)
  }
  buf.set(data.country, L + 8 * T)
  buf.writeUInt32LE(crc32(buf.subarray(HEADER)), 16)
  return buf
}

/** Parses and checks an asset. Columns are views on `bytes` when it is 4-byte aligned. */
export function decodeMapAsset(bytes: Uint8Array): MapData {
  let buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (buf.byteOffset % 4 !== 0) buf = Buffer.from(Uint8Array.prototype.slice.call(buf))
  if (buf.length < HEADER || buf.toString('latin1', 0, 4) !== MAP_MAGIC) throw new Error('not a ClickPlanet map asset (bad magic)')
  const version = buf.readUInt16LE(4)
  if (version !== MAP_VERSION) throw new Error(`unsupported map asset version ${version}`)
  const C = buf.readUInt16LE(6)
  const T = buf.readUInt32LE(8)
  const L = HEADER + tableBytes(C)
  if (buf.length !== L + 9 * T) throw new Error(`map asset size ${buf.length}, expected ${L + 9 * T}`)
  const checksum = buf.readUInt32LE(16)
  if (crc32(buf.subarray(HEADER)) !== checksum) throw new Error('map asset checksum mismatch')
  const countries: string[] = []
  for (let i = 0; i < C; i++) countries.push(buf.toString('latin1', HEADER + 2 * i, HEADER + 2 * i + 2))
  const base = buf.byteOffset
  const country = new Uint8Array(buf.buffer, base + L + 8 * T, T)
  for (let i = 0; i < T; i++) if ((country[i] ?? 0) > C) throw new Error(`tile ${i} has country index past the table`)
  return {
    spherePoints: buf.readUInt32LE(12),
    countries,
    lat: new Float32Array(buf.buffer, base + L, T),
    lon: new Float32Array(buf.buffer, base + L + 4 * T, T),
    country,
    checksum,
  }
}
