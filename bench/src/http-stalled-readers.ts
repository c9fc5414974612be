/**
 * Stalled HTTP readers against a server whose every tile is owned (the full ownerships
 * answer is ~6.5 MiB): N × (click, GET /api/ownerships, read the headers, stop reading),
 * then N × a full-range ownerships-by-batch read the same way, each reader from its own
 * loopback address (127.0.0.2, …). Prints the server's RSS before, after each attack and
 * once the stalled sockets are cut, and what the readers were answered.
 *
 *   npx tsx bench/src/http-stalled-readers.ts [--readers 150] [--env NAME=VALUE …]
 *
 * The server runs as a child process (`src/main.ts serve`, default settings unless --env),
 * so its RSS is its own. Every loop is bounded in count and time; traffic stays on 127.0.0.1.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer as createNetServer, connect } from 'node:net'
import { request } from 'node:http'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import { encodeBatchRequest, encodeClickRequest } from '../../src/games/clickplanet/messages.js'

const args = process.argv.slice(2)
const readersArg = args.indexOf('--readers')
const READERS = readersArg === -1 ? 150 : Number(args[readersArg + 1])
const extraEnv: Record<string, string> = {}
args.forEach((a, i) => {
  if (a === '--env') {
    const [k, ...v] = args[i + 1]!.split('=')
    extraEnv[k!] = v.join('=')
  }
})
const root = fileURLToPath(new URL('../..', import.meta.url))
const MiB = 1024 * 1024

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

async function waitUntil(what: string, check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return true
    await new Promise((r) => setTimeout(r, 100))
  }
  console.error(`  (gave up waiting for ${what} after ${ms} ms)`)
  return false
}

const rss = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024

function httpJson(port: number, method: string, path: string, body?: string, localAddress?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ port, host: '127.0.0.1', method, path, agent: false, ...(localAddress ? { localAddress } : {}), headers: { 'content-type': 'application/json' } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** Sends a request, reads the status line, stops reading. */
function stall(port: number, raw: string, localAddress: string): Promise<{ status: number; socket: ReturnType<typeof connect> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress })
    socket.on('error', () => {})
    socket.once('connect', () => socket.write(raw))
    socket.once('data', (d: Buffer) => {
      socket.pause()
      resolve({ status: Number(d.toString('latin1', 9, 12)), socket })
    })
    setTimeout(() => reject(new Error('no answer in 30 s')), 30_000).unref()
  })
}

async function main(): Promise<void> {
  const port = await freePort()
  const server = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
    cwd: root,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', PARTYLINE_CLICK_RATE: '0', PARTYLINE_LOG_LEVEL: 'warn', ...extraEnv },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  const pid = server.pid!
  try {
    await waitUntil('the server', async () => (await httpJson(port, 'GET', '/healthz')).status === 200, 30_000)
    const summary = JSON.parse((await httpJson(port, 'GET', '/api/map/summary')).text) as { tiles: number }
    // Own every tile through room PLANET (binary ClickRequest frames).
    const ws = new WebSocket(`ws://127.0.0.1:${port}/PLANET`)
    await new Promise((r, j) => { ws.once('open', r); ws.once('error', j) })
    const countries = ['fr', 'de', 'jp', 'br', 'us', 'ke', 'in', 'au']
    for (let tile = 0; tile < summary.tiles; tile++) {
      ws.send(encodeClickRequest({ tileId: tile, countryId: countries[tile % countries.length]! }))
      if (ws.bufferedAmount > 4 * MiB) await new Promise((r) => setTimeout(r, 5))
    }
    await waitUntil('every tile owned', async () => {
      const m = (await httpJson(port, 'GET', '/metrics')).text
      return Number(/^partyline_clickplanet_log_position (\d+)/m.exec(m)?.[1] ?? 0) >= summary.tiles
    }, 120_000)
    ws.close()
    const full = await httpJson(port, 'GET', '/api/ownerships')
    const rows: [string, string][] = [['ownerships answer', `${(full.text.length / MiB).toFixed(1)} MiB`]]
    const base = rss(pid)
    rows.push(['server RSS, every tile owned, before the attack', `${(base / MiB).toFixed(0)} MiB`])

    const attack = async (name: string, one: (i: number, address: string) => Promise<{ status: number; socket: ReturnType<typeof connect> }>): Promise<void> => {
      const statuses = new Map<number, number>()
      const sockets: ReturnType<typeof connect>[] = []
      let peak = 0
      for (let i = 0; i < READERS; i++) {
        const address = `127.0.0.${2 + (i % 250)}`
        const r = await one(i, address)
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1)
        sockets.push(r.socket)
        peak = Math.max(peak, rss(pid))
      }
      const answered = [...statuses].map(([s, n]) => `${n}× ${s}`).join(', ')
      rows.push([`${name}: answers`, answered])
      rows.push([`${name}: server RSS after ${READERS} stalled readers (peak)`, `${(peak / MiB).toFixed(0)} MiB (+${((peak - base) / MiB).toFixed(0)})`])
      // Wait for the write timeout to cut them (new servers say so in /metrics), bounded.
      await waitUntil('the stalled answers to be cut', async () => {
        const m = (await httpJson(port, 'GET', '/metrics')).text
        return /^partyline_http_large_responses 0$/m.test(m)
      }, 20_000)
      rows.push([`${name}: server RSS once the stalled sockets are cut`, `${(rss(pid) / MiB).toFixed(0)} MiB`])
      for (const s of sockets) s.destroy()
    }
    await attack('click + ownerships', async (i, address) => {
      await httpJson(port, 'POST', '/api/click', JSON.stringify({ data: Array.from(encodeClickRequest({ tileId: i, countryId: 'it' })) }), address)
      return stall(port, 'GET /api/ownerships HTTP/1.1\r\nHost: bench\r\n\r\n', address)
    })
    const batch = JSON.stringify({ data: Array.from(encodeBatchRequest({ startTileId: 0, endTileId: 2 ** 31 - 1 })) })
    await attack('full-range ownerships-by-batch', (_i, address) =>
      stall(port, `POST /api/ownerships-by-batch HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: ${batch.length}\r\n\r\n${batch}`, address))

    const width = Math.max(...rows.map(([k]) => k.length))
    console.log(`\n${READERS} stalled readers, server settings: ${JSON.stringify(extraEnv)}\n`)
    console.log(`| ${'measure'.padEnd(width)} | result |`)
    console.log(`| ${'-'.repeat(width)} | --- |`)
    for (const [k, v] of rows) console.log(`| ${k.padEnd(width)} | ${v} |`)
  } finally {
    server.kill('SIGTERM')
  }
}

await main()
