/**
 * Fast point-in-polygon for lon/lat polygons (GeoJSON, as world-atlas gives them).
 *
 * d3-geo's `geoContains` is the reference semantics but walks every vertex with spherical
 * trigonometry: about 1 ms per test against Canada at 1:50m, so close to an hour for the
 * ~900k sphere points × candidate polygons. Here:
 * - a 1° lat/lon grid lists the polygons whose bounding box meets each cell;
 * - each polygon's edges (longitudes unwrapped across the antimeridian, rings that wind
 *   around a pole closed through it) are bucketed in latitude bands, so the even-odd
 *   ray test along the point's parallel reads only the few edges of one band;
 * - a point within `NEAR_DEG` of a crossing edge, where a planar edge and d3's great-circle
 *   arc could disagree, is decided by `geoContains` itself.
 */
import { geoContains } from 'd3-geo'
import type { MultiPolygon, Polygon, Position } from 'geojson'

const NEAR_DEG = 0.02

interface IndexedPolygon {
  readonly owner: number
  readonly geometry: Polygon
  readonly minX: number
  readonly maxX: number
  readonly minY: number
  readonly bandH: number
  readonly bandOffsets: Uint32Array
  readonly bandEdges: Uint32Array
  readonly edges: Float64Array
}

/** Unwraps a ring's longitudes; a ring that winds once around a pole is closed through it. */
function unwrapRing(ring: readonly Position[]): number[][] {
  const out: number[][] = []
  let prevLon = NaN
  let x = 0
  for (const p of ring) {
    const lon = p[0] ?? 0
    const lat = p[1] ?? 0
    if (Number.isNaN(prevLon)) x = lon
    else {
      let d = lon - prevLon
      if (d > 180) d -= 360
      else if (d < -180) d += 360
      x += d
    }
    prevLon = lon
    out.push([x, lat])
  }
  const first = out[0]
  const last = out[out.length - 1]
  if (first !== undefined && last !== undefined && Math.abs(last[0]! - first[0]!) > 180) {
    const meanLat = out.reduce((s, p) => s + p[1]!, 0) / out.length
    const pole = meanLat < 0 ? -90 : 90
    out.push([last[0]!, pole], [first[0]!, pole], [first[0]!, first[1]!])
  }
  return out
}

function indexPolygon(owner: number, geometry: Polygon): IndexedPolygon {
  const rings = geometry.coordinates.map(unwrapRing)
  // Shift holes by whole turns to overlap the outer ring.
  const outer = rings[0] ?? []
  const oMin = Math.min(...outer.map((p) => p[0]!))
  for (const r of rings.slice(1)) {
    const rMin = Math.min(...r.map((p) => p[0]!))
    const shift = Math.round((oMin - rMin) / 360) * 360
    if (shift !== 0) for (const p of r) p[0]! += shift
  }
  const e: number[] = []
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity
  for (const r of rings) {
    for (let i = 1; i < r.length; i++) {
      const a = r[i - 1]!, b = r[i]!
      e.push(a[0]!, a[1]!, b[0]!, b[1]!)
      minX = Math.min(minX, a[0]!, b[0]!); maxX = Math.max(maxX, a[0]!, b[0]!)
      minY = Math.min(minY, a[1]!, b[1]!); maxY = Math.max(maxY, a[1]!, b[1]!)
    }
  }
  const edges = new Float64Array(e)
  const count = edges.length / 4
  const bands = Math.max(1, Math.min(4096, Math.ceil(count / 8)))
  const bandH = Math.max((maxY - minY) / bands, 1e-9)
  const bandOf = (y: number): number => Math.min(bands - 1, Math.max(0, Math.floor((y - minY) / bandH)))
  const counts = new Uint32Array(bands + 1)
  const each = (fn: (band: number, edge: number) => void): void => {
    for (let k = 0; k < count; k++) {
      const y1 = edges[4 * k + 1]!, y2 = edges[4 * k + 3]!
      const b1 = bandOf(Math.min(y1, y2)), b2 = bandOf(Math.max(y1, y2))
      for (let b = b1; b <= b2; b++) fn(b, k)
    }
  }
  each((b) => { counts[b + 1]!++ })
  for (let b = 0; b < bands; b++) counts[b + 1]! += counts[b]!
  const bandEdges = new Uint32Array(counts[bands]!)
  const fill = counts.slice(0, bands)
  each((b, k) => { bandEdges[fill[b]!++] = k })
  return { owner, geometry, minX, maxX, minY, bandH, bandOffsets: counts, bandEdges, edges }
}

/** 1 = inside, 0 = outside, -1 = too near an edge to trust the planar test. */
function planarContains(p: IndexedPolygon, x: number, y: number): number {
  const band = Math.floor((y - p.minY) / p.bandH)
  if (band < 0 || band >= p.bandOffsets.length - 1) return 0
  let inside = false
  let near = false
  const { edges, bandEdges } = p
  for (let j = p.bandOffsets[band]!, end = p.bandOffsets[band + 1]!; j < end; j++) {
    const k = 4 * bandEdges[j]!
    const x1 = edges[k]!, y1 = edges[k + 1]!, x2 = edges[k + 2]!, y2 = edges[k + 3]!
    if ((y1 > y) === (y2 > y)) continue
    const xc = x1 + ((y - y1) * (x2 - x1)) / (y2 - y1)
    if (Math.abs(xc - x) < NEAR_DEG) near = true
    if (xc > x) inside = !inside
  }
  return near ? -1 : inside ? 1 : 0
}

/** Which of a set of polygon owners contains a point. */
export class PolygonIndex {
  readonly #polys: IndexedPolygon[] = []
  readonly #cells: number[][] = Array.from({ length: 180 * 360 }, () => [])
  /** Points the planar test could not decide and d3 `geoContains` did. */
  exactTests = 0

  /** Registers a (multi)polygon under `owner` (any integer the caller chooses). */
  add(owner: number, geometry: Polygon | MultiPolygon): void {
    const polygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates
    for (const coordinates of polygons) {
      const p = indexPolygon(owner, { type: 'Polygon', coordinates })
      const id = this.#polys.push(p) - 1
      const maxY = p.minY + p.bandH * (p.bandOffsets.length - 1)
      const y0 = Math.max(0, Math.floor(p.minY + 90)), y1 = Math.min(179, Math.floor(maxY + 90))
      const x0 = Math.floor(p.minX), x1 = Math.floor(p.maxX)
      const seen = new Set<number>()
      for (let gx = x0; gx <= x1 && gx - x0 < 360; gx++) {
        const col = (((gx + 180) % 360) + 360) % 360
        for (let gy = y0; gy <= y1; gy++) {
          const cell = gy * 360 + col
          if (!seen.has(cell)) { seen.add(cell); this.#cells[cell]!.push(id) }
        }
      }
    }
  }

  /** Owner of the first registered polygon containing (lon, lat), or -1. */
  find(lon: number, lat: number): number {
    const gy = Math.min(179, Math.max(0, Math.floor(lat + 90)))
    const gx = Math.min(359, Math.max(0, Math.floor(lon + 180)))
    for (const id of this.#cells[gy * 360 + gx] ?? []) {
      const p = this.#polys[id]!
      for (const x of [lon, lon + 360, lon - 360]) {
        if (x < p.minX - NEAR_DEG || x > p.maxX + NEAR_DEG) continue
        const r = planarContains(p, x, lat)
        if (r === 1) return p.owner
        if (r === -1) {
          this.exactTests++
          if (geoContains(p.geometry, [lon, lat])) return p.owner
          break
        }
      }
    }
    return -1
  }
}
