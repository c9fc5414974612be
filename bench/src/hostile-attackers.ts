/**
 * The hostile neighbours of `bench/src/hostile.ts`: one process (the runner pins it beside
 * the party generator) that attacks a partyline server on 127.0.0.1 from its own loopback
 * source addresses, so each attack is one "address" to the server:
 *
 * - `flood`  (127.0.0.2): opens WebSockets (`/ws/listen`, `/CREATE`, an unknown room) as fast
 *   as 64 at a time allow, up to FLOOD_RATE a second, and holds every one it gets.
 * - `stall`  (127.0.0.3): readers that stop reading: `/ws/listen` sockets that never read
 *   (reopened when closed) while it clicks a trickle of updates, and HTTP clients that read
 *   the headers of `GET /api/ownerships` (after a click made it stale) and nothing more.
 * - `frames` (127.0.0.4): a room of its own whose 8 players send 512-byte frames as fast as
 *   their sockets take them, up to FRAME_RATE a second in all, to a host that reads them.
 * - `sockets` (127.0.0.7): bare TCP connections that never send a byte, up to SOCKETS_RATE a
 *   second, holding up to SOCKETS_HOLD at once (reopened as the server closes them): the
 *   descriptor exhaustion that plain HTTP connections allowed before their per-address cap.
 *
 * Usage: node build/hostile-attackers.js '{"port":…,"attacks":["flood"],"maxMs":…}'. Runs until
 * SIGTERM or `maxMs`, then prints `RESULT <json>` (what each attack did and met) and exits.
 * Every loop is bounded in count and in time; traffic goes to 127.0.0.1 only.
 */
import { request } from 'node:http'
import { connect, type Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import WebSocket from 'ws'
import { sleep } from '../../src/flood/bounded.js'

export type AttackName = 'flood' | 'stall' | 'frames' | 'sockets'
export interface AttackJob {
  readonly port: number
  readonly attacks: readonly AttackName[]
  readonly maxMs: number
}

const FLOOD_RATE = 3000
const FLOOD_MAX = 100_000
const FLOOD_CONCURRENCY = 64
const STALL_LISTENERS = 100
const STALL_REOPENS = 2000
const STALL_HTTP = 150
const STALL_CLICKS_PER_SECOND = 50
const FRAME_RATE = 20_000
const FRAME_PLAYERS = 8
const FRAME_BYTES = 512
const SOCKETS_RATE = 2000
const SOCKETS_MAX = 100_000
const SOCKETS_CONCURRENCY = 64
/** Below this process's own descriptor limit (20,000 here), so the server runs out first. */
const SOCKETS_HOLD = 19_000

const job = JSON.parse(process.argv[2] ?? '') as AttackJob
const deadline = Date.now() + job.maxMs
let stopping = false
process.once('SIGTERM', () => (stopping = true))
const running = (): boolean => !stopping && Date.now() < deadline
const counts: Record<string, Record<string, number>> = {}
const count = (attack: string, what: string, n = 1): void => {
  const c = (counts[attack] ??= {})
  c[what] = (c[what] ?? 0) + n
}
const held: Socket[] = []
/** The `sockets` attack's connections the server has not closed. */
const idle = new Set<Socket>()

/**
 * A WebSocket handshake over a bare socket from `from`. Resolves with the HTTP status (or
 * 'reset' / 'timeout'); on 101 the socket is kept as `keep` says: 'read' discards what comes,
 * 'stall' never reads again.
 */
function rawUpgrade(path: string, from: string, keep: 'read' | 'stall'): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: job.port, localAddress: from })
    let settled = false
    const done = (outcome: string, hold: boolean): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (hold) held.push(socket)
      else socket.destroy()
      resolve(outcome)
    }
    const timer = setTimeout(() => done('timeout', false), 5000)
    socket.on('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNRESET' ? 'reset' : (err.code ?? 'error'), false))
    socket.on('close', () => done('reset', false))
    socket.once('data', (d: Buffer) => {
      const status = d.toString('latin1', 9, 12)
      if (status !== '101') return done(status, false)
      if (keep === 'stall') socket.pause()
      done(status, true)
    })
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${job.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    )
  })
}

async function flood(): Promise<void> {
  const paths = ['/ws/listen', '/CREATE', '/ws/listen', '/QQQQ']
  let started = 0
  const t0 = Date.now()
  await Promise.all(
    Array.from({ length: FLOOD_CONCURRENCY }, async () => {
      while (running() && started < FLOOD_MAX) {
        // Pace the whole flood to FLOOD_RATE attempts a second.
        const due = t0 + (started / FLOOD_RATE) * 1000
        if (due > Date.now()) await sleep(due - Date.now())
        const path = paths[started++ % paths.length]!
        const outcome = await rawUpgrade(path, '127.0.0.2', 'read')
        count('flood', `${path === '/QQQQ' ? '/<unknown>' : path} ${outcome}`)
      }
    }),
  )
}

function httpCall(method: string, path: string, from: string, body?: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: job.port, path, method, localAddress: from, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
      res.on('error', () => resolve(0))
    })
    req.on('error', () => resolve(0))
    req.setTimeout(5000, () => req.destroy())
    req.end(body)
  })
}

const clickBody = (tile: number, country: string): string => {
  // ClickRequest: field 1 tile (varint), field 2 country (string); see proto/clicks.proto.
  const bytes: number[] = [0x08]
  for (let v = tile; ; v >>>= 7) {
    if (v < 0x80) { bytes.push(v); break }
    bytes.push((v & 0x7f) | 0x80)
  }
  bytes.push(0x12, country.length, ...Buffer.from(country))
  return JSON.stringify({ data: bytes })
}

async function stall(): Promise<void> {
  const from = '127.0.0.3'
  const listeners = async (): Promise<void> => {
    let opened = 0
    const mine: Socket[] = []
    while (running() && opened < STALL_REOPENS) {
      for (let i = mine.length - 1; i >= 0; i--) if (mine[i]!.destroyed || mine[i]!.readyState !== 'open') mine.splice(i, 1)
      while (mine.length < STALL_LISTENERS && running() && opened < STALL_REOPENS) {
        opened++
        const outcome = await rawUpgrade('/ws/listen', from, 'stall')
        count('stall', `/ws/listen ${outcome}`)
        if (outcome !== '101') break
        mine.push(held.at(-1)!)
      }
      await sleep(200)
    }
  }
  const clicks = async (): Promise<void> => {
    for (let i = 0; running() && i < 10_000; i++) {
      count('stall', `click ${await httpCall('POST', '/api/click', from, clickBody(i % 50_000, i % 2 ? 'fr' : 'de'))}`)
      await sleep(1000 / STALL_CLICKS_PER_SECOND)
    }
  }
  const readers = async (): Promise<void> => {
    for (let i = 0; running() && i < STALL_HTTP; i++) {
      await httpCall('POST', '/api/click', from, clickBody(100_000 + i, 'it'))
      const socket = connect({ host: '127.0.0.1', port: job.port, localAddress: from })
      socket.on('error', () => {})
      socket.once('data', (d: Buffer) => {
        count('stall', `GET /api/ownerships ${d.toString('latin1', 9, 12)}, then stops reading`)
        socket.pause()
      })
      socket.write(`GET /api/ownerships HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
      held.push(socket)
      await sleep(20)
    }
  }
  await Promise.all([listeners(), clicks(), readers()])
}

async function frames(): Promise<void> {
  const from = '127.0.0.4'
  const url = `ws://127.0.0.1:${job.port}`
  const host = new WebSocket(`${url}/CREATE?format=json`, { localAddress: from })
  host.on('error', () => {})
  const key = await new Promise<string | undefined>((resolve) => {
    host.once('open', () => host.send(JSON.stringify({ cmd: 'prepare', max_players: FRAME_PLAYERS })))
    host.on('message', (d: Buffer, isBinary: boolean) => {
      if (isBinary) return
      const m = JSON.parse(d.toString()) as { cmd: string; key?: string }
      if (m.cmd === 'prepare_reply') resolve(m.key)
    })
    host.once('close', () => resolve(undefined))
    setTimeout(() => resolve(undefined), 5000)
  })
  if (key === undefined) return count('frames', 'no room')
  let received = 0
  host.removeAllListeners('message')
  host.on('message', () => received++)
  const payload = randomBytes(FRAME_BYTES)
  let sent = 0
  const t0 = Date.now()
  await Promise.all(
    Array.from({ length: FRAME_PLAYERS }, async () => {
      const p = new WebSocket(`${url}/${key}`, { localAddress: from })
      p.on('error', () => {})
      const opened = await new Promise<boolean>((resolve) => {
        p.once('open', () => resolve(true))
        p.once('close', () => resolve(false))
      })
      if (!opened) return count('frames', 'player refused')
      while (running() && p.readyState === WebSocket.OPEN) {
        const due = t0 + (sent / FRAME_RATE) * 1000
        if (due > Date.now() + 1) await sleep(due - Date.now())
        if (p.bufferedAmount > 256 * 1024) {
          await sleep(1)
          continue
        }
        for (let i = 0; i < 32; i++) p.send(payload)
        sent += 32
      }
      p.terminate()
    }),
  )
  count('frames', 'sent', sent)
  count('frames', 'host received', received)
  host.terminate()
}

/**
 * One bare TCP connection from `from` that sends nothing. Resolves once it is connected (or
 * failed); it stays in `idle` until the server closes it, counted by what the server said.
 */
function idleSocket(from: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: job.port, localAddress: from })
    let answer = ''
    const timer = setTimeout(() => socket.destroy(), 5000)
    socket.on('error', (err: NodeJS.ErrnoException) => { answer ||= err.code ?? 'error' })
    socket.on('data', (d: Buffer) => { answer ||= d.toString('latin1', 9, 12) })
    socket.once('connect', () => {
      clearTimeout(timer)
      idle.add(socket)
      resolve()
    })
    socket.once('close', () => {
      clearTimeout(timer)
      if (idle.delete(socket)) count('sockets', `closed by the server with ${answer || 'no answer'}`)
      else count('sockets', `not connected (${answer || 'timeout'})`)
      resolve()
    })
  })
}

async function sockets(): Promise<void> {
  let started = 0
  let most = 0
  const t0 = Date.now()
  await Promise.all(
    Array.from({ length: SOCKETS_CONCURRENCY }, async () => {
      while (running() && started < SOCKETS_MAX) {
        if (idle.size >= SOCKETS_HOLD) {
          await sleep(50)
          continue
        }
        const due = t0 + (started / SOCKETS_RATE) * 1000
        if (due > Date.now()) await sleep(due - Date.now())
        started++
        await idleSocket('127.0.0.7')
        most = Math.max(most, idle.size)
      }
    }),
  )
  count('sockets', 'attempts', started)
  count('sockets', 'most held at once', most)
}

const attacks = { flood, stall, frames, sockets }
await Promise.all(job.attacks.map((a) => attacks[a]()))
while (running()) await sleep(100)
if (job.attacks.includes('sockets')) count('sockets', 'held at the end', idle.size)
for (const s of [...held, ...idle]) s.destroy()
process.stdout.write(`RESULT ${JSON.stringify(counts)}\n`)
process.exit(0)
