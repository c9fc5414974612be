/**
 * The real-time demo, TV side: phones are joysticks, the TV moves every player's dot from
 * the inputs it receives and redraws the track every animation frame (state sync: the
 * phones send inputs, the TV owns the state). A ping to each phone every two seconds shows
 * the round trip beside each name, so people can feel the latency.
 */
import { createRoom } from '/sdk/partyline.js'
import { parseMessage, type ToPhone, type ToTv } from './demo-protocol.js'
import { renderPlayers, showHostConnection, showRoom } from './tv-common.js'

const COLORS = ['#e8453c', '#2f7de1', '#f2b632', '#2fb36b', '#b04ee0', '#ff8a3d', '#25c2c2', '#f06ba8']
const SPEED = 0.45 // track widths per second at full stick

interface Dot {
  x: number
  y: number
  dx: number
  dy: number
  color: string
  score: number
  rttMs: number | undefined
}

const host = await createRoom({ maxPlayers: 8, name: 'Race', storageKey: 'partyline.race' })
await showRoom(host.code)
showHostConnection(host)

const dots = new Map<number, Dot>()
let star = { x: 0.5, y: 0.5 }
const pings = new Map<number, number>() // n → sent at
let pingN = 0

function dotOf(player: number): Dot {
  let d = dots.get(player)
  if (!d) {
    d = { x: Math.random() * 0.8 + 0.1, y: Math.random() * 0.8 + 0.1, dx: 0, dy: 0, color: COLORS[(player - 1) % COLORS.length]!, score: 0, rttMs: undefined }
    dots.set(player, d)
  }
  return d
}

const tell = (player: number, m: ToPhone): void => host.sendText(JSON.stringify(m), [player])

host.on('player_joined', (player) => tell(player, { t: 'race', color: dotOf(player).color }))
host.on('from_str', (player, data) => {
  const m = parseMessage<ToTv>(data)
  if (m?.t === 'hello') tell(player, { t: 'race', color: dotOf(player).color })
  if (m?.t === 'pong') {
    const sent = pings.get(m.n)
    if (sent !== undefined) dotOf(player).rttMs = performance.now() - sent
  }
})
// A joystick frame: two signed bytes, −100…100 each way.
host.on('from', (player, data) => {
  if (data.byteLength !== 2) return
  const v = new Int8Array(data.buffer, data.byteOffset, 2)
  const d = dotOf(player)
  d.dx = v[0]! / 100
  d.dy = v[1]! / 100
})
host.on('player_left', (player) => dots.delete(player))
host.on('state', (state) => renderPlayers(state, (id) => label(id)))

function label(id: number): string {
  const d = dots.get(id)
  return d ? `${d.score} ★ ${d.rttMs === undefined ? '' : `${Math.round(d.rttMs)} ms`}` : ''
}

setInterval(() => {
  const n = ++pingN
  pings.set(n, performance.now())
  pings.delete(n - 5)
  host.sendText(JSON.stringify({ t: 'ping', n } satisfies ToPhone))
  if (host.state) renderPlayers(host.state, label)
}, 2000)

const canvas = document.querySelector<HTMLCanvasElement>('#track')!
const ctx = canvas.getContext('2d')!
let last = performance.now()
let frames = 0
let fpsSince = last

/** One animation frame: move every dot by its stick, catch the star, draw. */
function frame(now: number): void {
  const dt = Math.min(0.1, (now - last) / 1000)
  last = now
  const { width: w, height: h } = canvas
  ctx.fillStyle = '#0b1020'
  ctx.fillRect(0, 0, w, h)
  ctx.fillStyle = '#ffcc33'
  ctx.font = `${Math.round(h / 14)}px system-ui`
  ctx.textAlign = 'center'
  ctx.textBaseline = 'middle'
  ctx.fillText('★', star.x * w, star.y * h)
  const away = new Set((host.state?.roster ?? []).filter((p) => p.away).map((p) => p.id))
  for (const [id, d] of dots) {
    d.x = Math.min(1, Math.max(0, d.x + d.dx * SPEED * dt))
    d.y = Math.min(1, Math.max(0, d.y + d.dy * SPEED * dt))
    if (Math.hypot((d.x - star.x) * w, (d.y - star.y) * h) < h / 20) {
      d.score++
      star = { x: Math.random() * 0.8 + 0.1, y: Math.random() * 0.8 + 0.1 }
    }
    ctx.globalAlpha = away.has(id) ? 0.3 : 1
    ctx.fillStyle = d.color
    ctx.beginPath()
    ctx.arc(d.x * w, d.y * h, h / 36, 0, 2 * Math.PI)
    ctx.fill()
    ctx.globalAlpha = 1
  }
  frames++
  if (now - fpsSince >= 1000) {
    document.querySelector('#fps')!.textContent = `${Math.round((frames * 1000) / (now - fpsSince))} fps`
    frames = 0
    fpsSince = now
  }
  requestAnimationFrame(frame)
}
requestAnimationFrame(frame)

// Exposed for tests and the curious: where each dot is now.
;(window as unknown as { partylineRace: unknown }).partylineRace = { dots }
