/**
 * ClickPlanet benchmarks, on the full default map. Prints a table.
 *
 *   npm run bench:clickplanet   (or: npx tsx bench/src/clickplanet.ts; `-- --fan-out`: that row
 *   alone; `-- --cluster`: the cluster rows alone, see clickplanet-cluster.ts;
 *   `-- --cluster-fan-out`: the 5,000 listeners over two nodes alone)
 *
 * Every loop is bounded in count and in time; network traffic goes to 127.0.0.1 only.
 * The HTTP and fan-out rows run the server in a child process so the load generator does
 * not share its event loop.
 */
import { execFileSync, spawn } from 'node:child_process'
import { serveChild, stopChild } from './serve-child.js'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { mkdtemp, rm } from 'node:fs/promises'
import { Agent } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import WebSocket from 'ws'
import { postClick } from './click-load.js'
import { COUNTRY_CODES } from '../../src/games/clickplanet/country-codes.js'
import { FileEventLog } from '../../src/games/clickplanet/event-log-file.js'
import { createClickPlanet } from '../../src/games/clickplanet/index.js'
import { ClickPlanetMap, defaultMapPath } from '../../src/games/clickplanet/map.js'
import { encodeClickRequest, type Click } from '../../src/games/clickplanet/messages.js'
import { Projection } from '../../src/games/clickplanet/projection.js'
import { ReadModels } from '../../src/games/clickplanet/read-models.js'
import { defaultSettings } from '../../src/config.js'
import { startServer } from '../../src/server.js'
import { clusterRows } from './clickplanet-cluster.js'

const silent = pino({ level: 'silent' })
const rows: [string, string][] = []
const row = (what: string, value: string): void => {
  rows.push([what, value])
  console.error(`  ${what}: ${value}`)
}
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN
}
const f = (n: number, d = 1): string => n.toLocaleString('en-US', { maximumFractionDigits: d })

// Deterministic pseudo-random clicks.
let seed = 42
const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32)
function clicks(n: number, tiles: number): Click[] {
  const out: Click[] = []
  const ts = BigInt(Date.now()) * 1_000_000n
  for (let i = 0; i < n; i++) {
    out.push({ tileId: Math.floor(rand() * tiles), countryId: COUNTRY_CODES[Math.floor(rand() * 40)]!, timestampNs: ts + BigInt(i), clickId: `b-${i}` })
  }
  return out
}

async function projectionRate(map: ClickPlanetMap): Promise<void> {
  const N = 2_000_000
  const list = clicks(N, map.tileCount)
  for (const withListener of [false, true]) {
    const p = new Projection(map.tileCount)
    let n = 0
    if (withListener) p.onChange((c) => { n += c.bytes.length })
    const t0 = performance.now()
    for (let i = 0; i < N; i++) p.apply({ position: i + 1, click: list[i]! })
    const ms = performance.now() - t0
    row(`projection apply${withListener ? ' (+ encode UpdateNotification)' : ''}`, `${f(N / (ms / 1000) / 1e6, 2)} M clicks/s`)
    void n
  }
}

async function replay(map: ClickPlanetMap): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'cp-bench-'))
  try {
    const log = await FileEventLog.open(join(dir, 'clicks.log'), { fsync: false })
    const list = clicks(1_000_000, map.tileCount)
    for (let i = 0; i < list.length; i += 10_000) await Promise.all(list.slice(i, i + 10_000).map((c) => log.append(c)))
    await log.close()
    const opts = { dataDir: dir, clickRate: 0, clickBurst: 1, maxBodyBytes: 65536, logger: silent, snapshotEveryClicks: 1e9 }
    // first start: no snapshot, the whole log is replayed
    let t0 = performance.now()
    const cold = await createClickPlanet(opts)
    row('start, replay of 1 M logged clicks (no snapshot)', `${f(performance.now() - t0, 0)} ms`)
    await cold.close() // writes the snapshot
    t0 = performance.now()
    const warm = await createClickPlanet(opts)
    row('start from snapshot at 1 M (+ map load)', `${f(performance.now() - t0, 0)} ms`)
    await warm.close()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

function timeIt(runs: number, budgetMs: number, prep: (i: number) => void, fn: () => void): number[] {
  const out: number[] = []
  const end = performance.now() + budgetMs
  for (let i = 0; i < runs && performance.now() < end; i++) {
    prep(i)
    const t0 = performance.now()
    fn()
    out.push(performance.now() - t0)
  }
  return out
}

async function timeItAsync(runs: number, budgetMs: number, prep: (i: number) => void, fn: () => Promise<void>): Promise<number[]> {
  const out: number[] = []
  const end = performance.now() + budgetMs
  for (let i = 0; i < runs && performance.now() < end; i++) {
    prep(i)
    const t0 = performance.now()
    await fn()
    out.push(performance.now() - t0)
  }
  return out
}

async function readModels(map: ClickPlanetMap): Promise<void> {
  const p = new Projection(map.tileCount)
  let pos = 0
  for (let t = 0; t < map.tileCount; t++) p.apply({ position: ++pos, click: { tileId: t, countryId: COUNTRY_CODES[t % 200]!, timestampNs: 1_700_000_000_000_000_000n + BigInt(t), clickId: 'x' } })
  const reads = new ReadModels(p)
  const change = (i: number): void => p.apply({ position: ++pos, click: { tileId: i, countryId: i % 2 ? 'fr' : 'de', timestampNs: 1n, clickId: 'y' } })
  let bytes = 0
  const blocked: number[] = []
  const slices: number[] = []
  // Server-side time of a read after a change: the request waits for a rebuild that runs
  // in slices across event-loop turns (the first row), and blocks the loop at most for its
  // longest slice (the second row).
  await timeItAsync(3, 5_000, change, async () => { await reads.ownerships() }) // warm-up: JIT, scratch buffers
  const own = await timeItAsync(60, 20_000, change, async () => {
    bytes = (await reads.ownerships()).body.length
    blocked.push(reads.stats.lastMaxSliceMs)
    slices.push(reads.stats.lastSlices)
  })
  row(`ownerships, all ${f(map.tileCount, 0)} tiles owned, read after a change: request → body (${f(bytes / 1e6, 1)} MB)`, `p50 ${f(pct(own, 50), 1)} ms · p99 ${f(pct(own, 99), 1)} ms`)
  row(`ownerships rebuild, longest event-loop block (${f(pct(slices, 50), 0)} slices)`, `p50 ${f(pct(blocked, 50), 2)} ms · p99 ${f(pct(blocked, 99), 2)} ms`)
  const cached = await timeItAsync(1000, 5_000, () => {}, async () => { await reads.ownerships() })
  row('ownerships, cached (no change since last read)', `p50 ${f(pct(cached, 50) * 1000, 1)} µs · p99 ${f(pct(cached, 99) * 1000, 1)} µs`)
  const batch = timeIt(1000, 5_000, () => {}, () => { reads.batchBody(100_000, 109_999) })
  row('ownerships-by-batch, 10,000-id window', `p50 ${f(pct(batch, 50), 2)} ms · p99 ${f(pct(batch, 99), 2)} ms`)
  const lb = timeIt(1000, 5_000, change, () => { reads.leaderboardBody() })
  row(`leaderboard, ${reads.leaderboard().length} countries, rebuilt after a change`, `p50 ${f(pct(lb, 50) * 1000, 1)} µs · p99 ${f(pct(lb, 99) * 1000, 1)} µs`)
}

/** The server under test runs on core 0, the load (this process) on core 1: "on one core". */
const SERVER_CORE = 0
const LOAD_CORE = 1

const serveHere = (dataDir: string | undefined) => serveChild(fileURLToPath(import.meta.url), dataDir ? [dataDir] : [], SERVER_CORE)

async function httpIngest(label: string, dataDir: string | undefined, tiles: number): Promise<void> {
  const { child, port } = await serveHere(dataDir)
  try {
    const agent = new Agent({ keepAlive: true, maxSockets: 64 })
    const CLIENTS = 64, MAX = 200_000, BUDGET = 5_000
    let done = 0
    const end = performance.now() + BUDGET
    const post = (tile: number): Promise<number> => postClick(agent, port, tile)
    const t0 = performance.now()
    await Promise.all(Array.from({ length: CLIENTS }, async () => {
      while (done < MAX && performance.now() < end) {
        const status = await post(Math.floor(rand() * tiles))
        if (status !== 200) throw new Error(`HTTP ${status}`)
        done++
      }
    }))
    const s = (performance.now() - t0) / 1000
    row(`HTTP click ingest, ${CLIENTS} keep-alive clients, ${label}`, `${f(done / s, 0)} clicks/s`)
    agent.destroy()
  } finally {
    await stopChild(child)
  }
}

async function fanOut(): Promise<void> {
  const { child, port } = await serveHere(undefined)
  const LISTENERS = 5_000, UPDATES = 20
  const sockets: WebSocket[] = []
  try {
    let got = 0
    let sentAt = 0
    let notify: (() => void) | undefined
    const lat: number[] = []
    for (let i = 0; i < LISTENERS; i += 250) {
      await Promise.all(Array.from({ length: Math.min(250, LISTENERS - i) }, () => new Promise<void>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/listen`)
        ws.on('message', () => {
          lat.push(performance.now() - sentAt)
          if (++got % LISTENERS === 0) notify?.()
        })
        ws.once('open', () => resolve())
        ws.once('error', reject)
        sockets.push(ws)
      })))
    }
    // A bystander room on the same server, from its own process: its round trips before the
    // clicks (quiet) and while the updates fan out.
    const by = spawn('taskset', ['-c', String(LOAD_CORE), process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), '--bystander', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] })
    let byOut = ''
    by.stdout!.on('data', (d: Buffer) => (byOut += d.toString()))
    const byExit = new Promise((r) => by.once('exit', r))
    const loopDelay = async (): Promise<{ p50: number; p99: number; max: number }> => {
      let out = ''
      const got = new Promise<string>((resolve) => {
        const onData = (d: Buffer): void => {
          out += d.toString()
          const line = out.split('\n').find((l) => l.startsWith('LOOP '))
          if (line) { child.stdout!.off('data', onData); resolve(line.slice(5)) }
        }
        child.stdout!.on('data', onData)
      })
      child.stdin!.write('report\n')
      return JSON.parse(await got) as { p50: number; p99: number; max: number }
    }
    await new Promise((r) => setTimeout(r, 3000))
    const quietFrom = Date.now()
    child.stdin!.write('reset\n')
    await new Promise((r) => setTimeout(r, 2000))
    const quietLoop = await loopDelay()
    child.stdin!.write('reset\n')
    const fanFrom = Date.now()
    const deadline = performance.now() + 60_000
    const loops: number[] = []
    for (let u = 0; u < UPDATES && performance.now() < deadline; u++) {
      const all = new Promise<void>((resolve) => { notify = resolve })
      sentAt = performance.now()
      const res = await fetch(`http://127.0.0.1:${port}/api/click`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ data: Array.from(encodeClickRequest({ tileId: 1000 + u, countryId: 'fr' })) }) })
      await res.arrayBuffer()
      await Promise.race([all, new Promise((r) => setTimeout(r, 10_000))])
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
      const loop = /^partyline_clickplanet_listener_broadcast_seconds (\S+)$/m.exec(metrics)
      if (loop) loops.push(Number(loop[1]) * 1000)
    }
    const fanTo = Date.now()
    const fanLoop = await loopDelay()
    by.kill('SIGTERM')
    await byExit
    const samples = byOut.trim().split('\n').filter((l) => l.startsWith('[')).map((l) => JSON.parse(l) as [number, number])
    const quiet = samples.filter(([at]) => at >= quietFrom && at < fanFrom).map(([, ms]) => ms)
    const during = samples.filter(([at]) => at >= fanFrom && at < fanTo).map(([, ms]) => ms)
    row(`one update fanned out to ${f(LISTENERS, 0)} listeners (click sent → frame received here, ${UPDATES} updates)`, `p50 ${f(pct(lat, 50), 1)} ms · p99 ${f(pct(lat, 99), 1)} ms`)
    row(`  of which the server writing the update to all ${f(LISTENERS, 0)} sockets (over several turns)`, `p50 ${f(pct(loops, 50), 1)} ms · max ${f(Math.max(...loops), 1)} ms`)
    row('the server\'s event-loop delay, quiet', `p99 ${f(quietLoop.p99, 1)} ms · max ${f(quietLoop.max, 1)} ms`)
    row(`… while the updates fan out to ${f(LISTENERS, 0)} listeners (what any room on the server waits at worst)`, `p99 ${f(fanLoop.p99, 1)} ms · max ${f(fanLoop.max, 1)} ms`)
    row(`a bystander party room's round trip, quiet (${quiet.length} pings)`, `p50 ${f(pct(quiet, 50), 2)} ms · p99 ${f(pct(quiet, 99), 2)} ms`)
    row(`… the same room while the updates fan out to ${f(LISTENERS, 0)} listeners (${during.length} pings)`, `p50 ${f(pct(during, 50), 2)} ms · p99 ${f(pct(during, 99), 2)} ms`)
  } finally {
    for (const ws of sockets) ws.terminate()
    await stopChild(child)
  }
}

/**
 * A bystander party room in its own process: a host and a player on another room of the same
 * server, the player sending a frame every 10 ms that the host echoes back; prints each round
 * trip as `[sentAtEpochMs, ms]` lines until SIGTERM (at most 5 minutes).
 */
async function bystander(port: number): Promise<void> {
  const { Encoder, Decoder } = await import('cbor-x')
  const cbor = { useRecords: false, tagUint8Array: false, mapsAsObjects: true } as const
  const enc = new Encoder(cbor), dec = new Decoder(cbor)
  const host = new WebSocket(`ws://127.0.0.1:${port}/CREATE`)
  const key = await new Promise<string>((resolve, reject) => {
    host.once('open', () => host.send(enc.encode({ cmd: 'prepare', max_players: 2 })))
    host.on('message', (d: Buffer) => {
      const m = dec.decode(d) as { cmd: string; key?: string; from?: number; data?: Uint8Array }
      if (m.cmd === 'prepare_reply') resolve(m.key!)
      if (m.cmd === 'from') host.send(enc.encode({ cmd: 'to', data: m.data }))
    })
    host.once('error', reject)
  })
  const player = new WebSocket(`ws://127.0.0.1:${port}/${key}`)
  await new Promise((r) => player.once('open', r))
  const out: string[] = []
  player.on('message', (d: Buffer) => {
    const sent = d.readDoubleLE(0)
    out.push(`[${Math.round(performance.timeOrigin + sent)},${(performance.now() - sent).toFixed(3)}]`)
  })
  let stop = false
  process.once('SIGTERM', () => (stop = true))
  const end = Date.now() + 300_000
  while (!stop && Date.now() < end) {
    const b = Buffer.alloc(16)
    b.writeDoubleLE(performance.now(), 0)
    player.send(b)
    await new Promise((r) => setTimeout(r, 10))
  }
  process.stdout.write(out.join('\n') + '\n')
  process.exit(0)
}

async function main(): Promise<void> {
  if (process.argv[2] === '--bystander') return bystander(Number(process.argv[3]))
  if (process.argv[2] === '--serve') {
    // One address (this process) opens every listener: the per-address cap would refuse it.
    // With NATS_URL and REDIS_URL in the environment: a cluster node (the cluster rows).
    const h = await startServer(defaultSettings({
      port: 0, host: '127.0.0.1', logLevel: 'silent', map: defaultMapPath(), dataDir: process.argv[3] ?? '',
      clickRate: 0, maxBuffered: 4 << 20, listenersPerAddress: 100_000, httpConnectionsPerAddress: 100_000,
      natsUrl: process.env['NATS_URL'] ?? '', redisUrl: process.env['REDIS_URL'] ?? '', nodeId: process.env['PARTYLINE_NODE_ID'] ?? '',
    }))
    process.stdout.write(`${h.port}\n`)
    process.once('SIGTERM', () => { void h.close().then(() => process.exit(0)) })
    // How long the event loop was held: `reset` starts a stretch, `report` prints its figures.
    const delay = monitorEventLoopDelay({ resolution: 1 })
    delay.enable()
    process.stdin.setEncoding('utf8').on('data', (line: string) => {
      if (line.startsWith('reset')) delay.reset()
      if (line.startsWith('report')) {
        const ms = (ns: number): number => ns / 1e6
        process.stdout.write(`LOOP ${JSON.stringify({ p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) })}\n`)
      }
    })
    return
  }
  // The in-process rows run here too; the HTTP and fan-out rows put the server on core 0.
  execFileSync('taskset', ['-p', '-c', String(LOAD_CORE), String(process.pid)], { stdio: 'ignore' })
  const clusterFanOut = process.argv.includes('--cluster-fan-out')
  const cluster = clusterFanOut || process.argv.includes('--cluster')
  if (!process.argv.includes('--fan-out') && !cluster) await inProcessAndHttp()
  if (!cluster) await fanOut()
  if (!process.argv.includes('--fan-out')) await clusterRows(row, ClickPlanetMap.load(), undefined, clusterFanOut)
  const w = Math.max(...rows.map((r) => r[0].length))
  console.log(`\n| ${'measure'.padEnd(w)} | result |\n| ${'-'.repeat(w)} | --- |`)
  for (const [k, v] of rows) console.log(`| ${k.padEnd(w)} | ${v} |`)
  console.log(`\nNode ${process.version}, ${(await import('node:os')).cpus().length} CPUs (${(await import('node:os')).cpus()[0]?.model ?? '?'})`)
}

/** Every row but the fan-out (`--fan-out` runs that one alone). */
async function inProcessAndHttp(): Promise<void> {
  const t0 = performance.now()
  const map = ClickPlanetMap.load()
  row(`map load (${f(map.tileCount, 0)} tiles, ${map.countries().length} countries, ${f(map.asset.length / 1e6, 2)} MB)`, `${f(performance.now() - t0, 1)} ms`)
  await projectionRate(map)
  await replay(map)
  await readModels(map)
  await httpIngest('in-memory log', undefined, map.tileCount)
  const dir = await mkdtemp(join(tmpdir(), 'cp-bench-http-'))
  try {
    await httpIngest('file log, fdatasync per group commit', dir, map.tileCount)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

await main()
