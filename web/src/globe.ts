/**
 * The globe: an orthographic view of the sphere drawn pixel by pixel (Canvas 2D, one
 * ImageData per frame), every tile a small square coloured by its owner. It redraws only
 * when something changed (a turn, a zoom, an owner), at most once per animation frame.
 */
import type { PlanetMap } from '/sdk/partyline.js'

const D2R = Math.PI / 180
const OCEAN = [16, 32, 64] as const
const SPACE = [11, 16, 32] as const
const LAND = [91, 98, 117] as const

type Rgb = readonly [number, number, number]

export class Globe {
  #canvas: HTMLCanvasElement
  #ctx: CanvasRenderingContext2D
  #owner: Uint8Array
  /** Unit vector of each tile: x towards (0°, 0°), y towards (0°, 90°E), z north. */
  #vx: Float32Array
  #vy: Float32Array
  #vz: Float32Array
  /** Angle between neighbouring tiles, radians. */
  #spacing: number
  #colors: Uint32Array = new Uint32Array(256)
  #lat0 = 20 * D2R
  #lon0 = 0
  #zoom = 1
  #dirty = true
  #scheduled = false
  #onTap: (tile: number | undefined) => void = () => {}
  #map: PlanetMap

  constructor(canvas: HTMLCanvasElement, map: PlanetMap, owner: Uint8Array) {
    this.#canvas = canvas
    this.#ctx = canvas.getContext('2d')!
    this.#map = map
    this.#owner = owner
    const T = map.lat.length
    this.#vx = new Float32Array(T)
    this.#vy = new Float32Array(T)
    this.#vz = new Float32Array(T)
    for (let i = 0; i < T; i++) {
      const lat = map.lat[i]! * D2R
      const lon = map.lon[i]! * D2R
      this.#vx[i] = Math.cos(lat) * Math.cos(lon)
      this.#vy[i] = Math.cos(lat) * Math.sin(lon)
      this.#vz[i] = Math.sin(lat)
    }
    this.#spacing = Math.sqrt((4 * Math.PI) / Math.max(1, map.spherePoints))
    this.#colors[0] = packRgb(LAND)
    this.#listen()
    new ResizeObserver(() => this.invalidate()).observe(canvas)
  }

  setColor(index: number, rgb: Rgb): void {
    this.#colors[index] = packRgb(rgb)
    this.invalidate()
  }

  /** Redraw at the next animation frame. */
  invalidate(): void {
    this.#dirty = true
    if (this.#scheduled) return
    this.#scheduled = true
    requestAnimationFrame(() => {
      this.#scheduled = false
      if (this.#dirty) this.#draw()
    })
  }

  onTap(handler: (tile: number | undefined) => void): void {
    this.#onTap = handler
  }

  zoomBy(factor: number): void {
    this.#zoom = Math.min(60, Math.max(1, this.#zoom * factor))
    this.invalidate()
  }

  /** Turn the globe to face a country's territory (the mean of its tiles). */
  lookAt(cc: string): void {
    const k = this.#map.countries.indexOf(cc) + 1
    if (k === 0) return
    let x = 0
    let y = 0
    let z = 0
    for (let i = 0; i < this.#map.country.length; i++) {
      if (this.#map.country[i] !== k) continue
      x += this.#vx[i]!
      y += this.#vy[i]!
      z += this.#vz[i]!
    }
    const n = Math.hypot(x, y, z)
    if (n === 0) return
    this.#lat0 = Math.asin(z / n)
    this.#lon0 = Math.atan2(y, x)
    this.invalidate()
  }

  /** Where tile `tile` is drawn, in CSS pixels of the viewport; `null` when it faces away. */
  pointOf(tile: number): { x: number; y: number } | null {
    const p = this.#project(this.#vx[tile]!, this.#vy[tile]!, this.#vz[tile]!)
    if (!p) return null
    const r = this.#canvas.getBoundingClientRect()
    const scale = r.width / this.#canvas.width
    return { x: r.left + p.x * scale, y: r.top + p.y * scale }
  }

  get #radius(): number {
    return (Math.min(this.#canvas.width, this.#canvas.height) / 2) * 0.94 * this.#zoom
  }

  /** View rotation: (lat0, lon0) to the centre, then orthographic onto the screen. */
  #project(x: number, y: number, z: number): { x: number; y: number } | null {
    const cl = Math.cos(this.#lon0)
    const sl = Math.sin(this.#lon0)
    const cp = Math.cos(this.#lat0)
    const sp = Math.sin(this.#lat0)
    const x1 = x * cl + y * sl
    const y1 = -x * sl + y * cl
    const x2 = x1 * cp + z * sp
    const z2 = -x1 * sp + z * cp
    if (x2 <= 0) return null
    const R = this.#radius
    return { x: this.#canvas.width / 2 + y1 * R, y: this.#canvas.height / 2 - z2 * R }
  }

  /** The tile under a canvas pixel, if the pixel is on land close enough to one. */
  #tileAt(px: number, py: number): number | undefined {
    const R = this.#radius
    const y2 = (px - this.#canvas.width / 2) / R
    const z2 = -(py - this.#canvas.height / 2) / R
    const d = y2 * y2 + z2 * z2
    if (d > 1) return undefined
    const x2 = Math.sqrt(1 - d)
    const cl = Math.cos(this.#lon0)
    const sl = Math.sin(this.#lon0)
    const cp = Math.cos(this.#lat0)
    const sp = Math.sin(this.#lat0)
    const x1 = x2 * cp - z2 * sp
    const z = x2 * sp + z2 * cp
    const x = x1 * cl - y2 * sl
    const y = x1 * sl + y2 * cl
    // Nearest tile by the largest dot product: a quarter of a million multiplications, ~1 ms.
    let best = -2
    let bestI = -1
    const vx = this.#vx
    const vy = this.#vy
    const vz = this.#vz
    for (let i = 0; i < vx.length; i++) {
      const dot = vx[i]! * x + vy[i]! * y + vz[i]! * z
      if (dot > best) {
        best = dot
        bestI = i
      }
    }
    const angle = Math.acos(Math.min(1, best))
    const tolerance = Math.max(0.75 * this.#spacing, 6 / R)
    return bestI >= 0 && angle <= tolerance ? bestI : undefined
  }

  #draw(): void {
    this.#dirty = false
    const canvas = this.#canvas
    const dpr = Math.min(2, window.devicePixelRatio || 1)
    const w = Math.max(1, Math.round(canvas.clientWidth * dpr))
    const h = Math.max(1, Math.round(canvas.clientHeight * dpr))
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w
      canvas.height = h
    }
    const image = this.#ctx.createImageData(w, h)
    const px = new Uint32Array(image.data.buffer)
    px.fill(packRgb(SPACE))
    const R = this.#radius
    const cx = w / 2
    const cy = h / 2
    const ocean = packRgb(OCEAN)
    for (let row = Math.max(0, Math.floor(cy - R)); row < Math.min(h, Math.ceil(cy + R)); row++) {
      const dy = row + 0.5 - cy
      const half = Math.sqrt(Math.max(0, R * R - dy * dy))
      px.fill(ocean, row * w + Math.max(0, Math.round(cx - half)), row * w + Math.min(w, Math.round(cx + half)))
    }
    const size = Math.max(1, Math.round(this.#spacing * R * 1.05))
    const half = size >> 1
    const cl = Math.cos(this.#lon0)
    const sl = Math.sin(this.#lon0)
    const cp = Math.cos(this.#lat0)
    const sp = Math.sin(this.#lat0)
    const { vx, vy, vz } = { vx: this.#vx, vy: this.#vy, vz: this.#vz }
    const owner = this.#owner
    const colors = this.#colors
    for (let i = 0; i < vx.length; i++) {
      const x1 = vx[i]! * cl + vy[i]! * sl
      const x2 = x1 * cp + vz[i]! * sp
      if (x2 <= 0) continue
      const sx = Math.round(cx + (-vx[i]! * sl + vy[i]! * cl) * R) - half
      const sy = Math.round(cy - (-x1 * sp + vz[i]! * cp) * R) - half
      if (sx >= w || sy >= h || sx + size <= 0 || sy + size <= 0) continue
      const color = colors[owner[i]!]!
      for (let yy = Math.max(0, sy); yy < Math.min(h, sy + size); yy++) px.fill(color, yy * w + Math.max(0, sx), yy * w + Math.min(w, sx + size))
    }
    this.#ctx.putImageData(image, 0, 0)
  }

  /** Drag turns, wheel and pinch zoom, a tap (a press that hardly moved) claims. */
  #listen(): void {
    const canvas = this.#canvas
    const down = new Map<number, { x: number; y: number }>()
    let moved = 0
    let pinch = 0
    const toCanvas = (ev: PointerEvent): { x: number; y: number } => {
      const r = canvas.getBoundingClientRect()
      return { x: ((ev.clientX - r.left) * canvas.width) / r.width, y: ((ev.clientY - r.top) * canvas.height) / r.height }
    }
    canvas.addEventListener('pointerdown', (ev) => {
      canvas.setPointerCapture(ev.pointerId)
      down.set(ev.pointerId, toCanvas(ev))
      if (down.size === 1) moved = 0
      if (down.size === 2) pinch = distance([...down.values()])
    })
    canvas.addEventListener('pointermove', (ev) => {
      const last = down.get(ev.pointerId)
      if (!last) return
      const p = toCanvas(ev)
      down.set(ev.pointerId, p)
      if (down.size === 2) {
        const d = distance([...down.values()])
        if (pinch > 0) this.zoomBy(d / pinch)
        pinch = d
        moved = Infinity
        return
      }
      const dx = p.x - last.x
      const dy = p.y - last.y
      moved += Math.abs(dx) + Math.abs(dy)
      const R = this.#radius
      this.#lon0 -= dx / R
      this.#lat0 = Math.max(-1.5, Math.min(1.5, this.#lat0 + dy / R))
      this.invalidate()
    })
    const up = (ev: PointerEvent): void => {
      const p = down.get(ev.pointerId)
      down.delete(ev.pointerId)
      if (ev.type === 'pointerup' && p && down.size === 0 && moved < 6) this.#onTap(this.#tileAt(p.x, p.y))
    }
    canvas.addEventListener('pointerup', up)
    canvas.addEventListener('pointercancel', up)
    canvas.addEventListener(
      'wheel',
      (ev) => {
        ev.preventDefault()
        this.zoomBy(Math.exp(-ev.deltaY * 0.0015))
      },
      { passive: false },
    )
  }
}

function distance([a, b]: { x: number; y: number }[]): number {
  return a && b ? Math.hypot(a.x - b.x, a.y - b.y) : 0
}

/** An opaque pixel for a little-endian Uint32 view of RGBA bytes. */
function packRgb([r, g, b]: Rgb): number {
  return ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0
}
