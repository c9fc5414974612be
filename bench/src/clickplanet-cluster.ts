/**
 * ClickPlanet in a cluster (`npm run bench:clickplanet`, or `-- --cluster` for this part
 * alone): a real nats-server with JetStream (file storage) and a real redis-server, on
 * 127.0.0.1. Rows: click ingest through JetStream on one node (publish + ack + apply, over
 * HTTP), a cold node catching up from the stream alone and from a snapshot in Redis plus
 * the last 100,000 clicks, and one update fanned out to 5,000 listeners over two nodes.
 * Every part is bounded in count and time.
 */
import { serveChild, stopChild } from './serve-child.js'
import { Agent } from 'node:http'
import { fileURLToPath } from 'node:url'
import { connect } from 'nats'
import { pino } from 'pino'
import WebSocket from 'ws'
import { fillStream, postClick } from './click-load.js'
import { JetStreamEventLog } from '../../src/games/clickplanet/event-log-jetstream.js'
import { LogFollower } from '../../src/games/clickplanet/log-follower.js'
import type { ClickPlanetMap } from '../../src/games/clickplanet/map.js'
import { encodeClickRequest } from '../../src/games/clickplanet/messages.js'
import { Projection } from '../../src/games/clickplanet/projection.js'
import { ClusterSnapshots, encodeSnapshot, StoreSnapshots } from '../../src/games/clickplanet/snapshot.js'
import { NatsServer } from '../../src/launchers/nats-server.js'
import { RedisServer } from '../../src/launchers/redis-server.js'
import { RedisStore } from '../../src/store/store-redis.js'

type Row = (what: string, value: string) => void
const f = (n: number, d = 1): string => n.toLocaleString('en-US', { maximumFractionDigits: d })
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN
}

/** A partyline node in a child process with `NATS_URL` and `REDIS_URL`, pinned to `core`. */
const clusterChild = (entry: string, env: Record<string, string>, core: number) => serveChild(entry, [], core, env)
const stop = stopChild

async function ingest(row: Row, entry: string, env: Record<string, string>, tiles: number): Promise<void> {
  const { child, port } = await clusterChild(entry, { ...env, PARTYLINE_NODE_ID: 'bench-ingest' }, 0)
  try {
    const agent = new Agent({ keepAlive: true, maxSockets: 64 })
    const CLIENTS = 64, MAX = 200_000, BUDGET = 5_000
    let done = 0, failed = 0
    const end = performance.now() + BUDGET
    const post = (tile: number): Promise<number> => postClick(agent, port, tile)
    const t0 = performance.now()
    await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
      for (let i = c; done < MAX && performance.now() < end; i += CLIENTS) {
        if ((await post(i % tiles)) === 200) done++
        else failed++
      }
    }))
    const s = (performance.now() - t0) / 1000
    row(`HTTP click ingest through JetStream (publish + ack + apply), ${CLIENTS} keep-alive clients, one node`, `${f(done / s, 0)} clicks/s${failed ? ` (${failed} refused)` : ''}`)
    agent.destroy()
  } finally {
    await stop(child)
  }
}

async function catchUp(row: Row, nats: NatsServer, redis: RedisServer, map: ClickPlanetMap): Promise<void> {
  const N = Number(process.env['CP_BENCH_CATCHUP'] ?? 1_000_000)
  const TAIL = 100_000
  const stream = 'CATCHUP'
  const logger = pino({ level: 'silent' })
  // The stream and its clicks. Core publishes (JetStream stores them without an ack per
  // message) to fill it quickly; the setup is not what is measured.
  const writer = await JetStreamEventLog.open({ servers: nats.url, stream, subjects: 'catchup' })
  const id = writer.id!
  const nc = await connect({ servers: nats.url })
  const setup0 = performance.now()
  const list = await fillStream(nc, await nc.jetstreamManager(), stream, 'catchup', N, map.tileCount)
  await nc.close()
  console.error(`  (setup: ${f(N, 0)} clicks in the stream in ${f((performance.now() - setup0) / 1000, 1)} s)`)

  // A cold node from the stream alone.
  {
    const log = await JetStreamEventLog.open({ servers: nats.url, stream, subjects: 'catchup' })
    const projection = new Projection(map.tileCount)
    const follower = new LogFollower({ log, projection, restore: async () => projection.reset(), logger })
    const t0 = performance.now()
    await follower.start()
    await Promise.race([follower.caughtUp, new Promise((_, rej) => setTimeout(() => rej(new Error('catch-up took over 60 s')), 60_000))])
    row(`cold node catching up ${f(N / 1e6, 2)} M clicks from the stream alone (file storage)`, `${f(performance.now() - t0, 0)} ms (${f(N / ((performance.now() - t0) / 1000) / 1e6, 2)} M clicks/s)`)
    follower.close()
    await log.close()
  }
  // A cold node from the snapshot in Redis at N − 100,000, then the last 100,000.
  {
    const store = new RedisStore({ url: redis.url, prefix: 'bench:' })
    const snap = new Projection(map.tileCount)
    for (let i = 0; i < N - TAIL; i++) snap.apply({ position: i + 1, click: list[i]! })
    const name = ClusterSnapshots.nameOf(id)
    await store.saveSnapshot(name, { position: N - TAIL, bytes: encodeSnapshot({ ...snap.state(), mapChecksum: map.checksum, logId: id }) })
    const log = await JetStreamEventLog.open({ servers: nats.url, stream, subjects: 'catchup' })
    const projection = new Projection(map.tileCount)
    const snapshots = new StoreSnapshots(store, name)
    const follower = new LogFollower({
      log, projection, logger,
      restore: async () => {
        const s = await snapshots.load()
        if (s) projection.restore(s)
      },
    })
    const t0 = performance.now()
    await follower.start()
    await Promise.race([follower.caughtUp, new Promise((_, rej) => setTimeout(() => rej(new Error('catch-up took over 60 s')), 60_000))])
    row(`cold node from the snapshot in Redis at ${f((N - TAIL) / 1e6, 2)} M + the last ${f(TAIL, 0)} from the stream`, `${f(performance.now() - t0, 0)} ms`)
    follower.close()
    await log.close()
    await store.close()
  }
  await writer.close()
}

/** A node's `partyline_clickplanet_listener_broadcast_seconds`, in ms. */
async function broadcastMs(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  const m = /^partyline_clickplanet_listener_broadcast_seconds (\S+)$/m.exec(text)
  return m ? Number(m[1]) * 1000 : NaN
}

async function fanOut2(row: Row, entry: string, env: Record<string, string>): Promise<void> {
  const a = await clusterChild(entry, { ...env, PARTYLINE_NODE_ID: 'bench-a' }, 0)
  const b = await clusterChild(entry, { ...env, PARTYLINE_NODE_ID: 'bench-b' }, 1)
  const LISTENERS = 5_000, UPDATES = 20
  const sockets: WebSocket[] = []
  try {
    let got = 0
    let sentAt = 0
    let notify: (() => void) | undefined
    const lastPerUpdate: number[] = []
    let missed = 0
    let last = 0
    const all: number[] = []
    const serverSide: number[] = []
    for (let i = 0; i < LISTENERS; i += 250) {
      await Promise.all(Array.from({ length: Math.min(250, LISTENERS - i) }, (_, k) => new Promise<void>((resolve, reject) => {
        const port = (i + k) % 2 ? b.port : a.port
        const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/listen`)
        ws.on('message', () => {
          last = performance.now() - sentAt
          all.push(last)
          if (++got % LISTENERS === 0) notify?.()
        })
        ws.once('open', () => resolve())
        ws.once('error', reject)
        sockets.push(ws)
      })))
    }
    await new Promise((r) => setTimeout(r, 2000))
    const deadline = performance.now() + 60_000
    for (let u = 0; u < UPDATES && performance.now() < deadline; u++) {
      const done = new Promise<void>((resolve) => { notify = resolve })
      sentAt = performance.now()
      // A country the ingest rows never used, alternating: every click changes an owner.
      const res = await fetch(`http://127.0.0.1:${a.port}/api/click`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ data: Array.from(encodeClickRequest({ tileId: 2000, countryId: u % 2 ? 'jp' : 'kr' })) }) })
      await res.arrayBuffer()
      const complete = await Promise.race([done.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))])
      if (complete) lastPerUpdate.push(last)
      else missed++
      // The servers' own share: how long each node took to write the update to its sockets.
      for (const port of [a.port, b.port]) serverSide.push(await broadcastMs(port))
    }
    row(`one update to ${f(LISTENERS, 0)} listeners over two nodes (click on one → frame received here, ${lastPerUpdate.length} updates${missed ? `, ${missed} not received by all within 10 s` : ''})`,
      `every listener: p50 ${f(pct(all, 50), 1)} ms · p99 ${f(pct(all, 99), 1)} ms; the last listener: p50 ${f(pct(lastPerUpdate, 50), 1)} ms · p99 ${f(pct(lastPerUpdate, 99), 1)} ms`)
    row(`  the same updates, each node writing to its ${f(LISTENERS / 2, 0)} sockets (its partyline_clickplanet_listener_broadcast_seconds)`,
      `p50 ${f(pct(serverSide, 50), 1)} ms · p99 ${f(pct(serverSide, 99), 1)} ms (the rest of the time above is NATS, the other node's follow, and this one process reading ${f(LISTENERS, 0)} sockets)`)
  } finally {
    for (const ws of sockets) ws.terminate()
    await Promise.all([stop(a.child), stop(b.child)])
  }
}

/** The cluster rows. `entry` is the bench script, which serves a node with `--serve`. */
export async function clusterRows(row: Row, map: ClickPlanetMap, entry = fileURLToPath(new URL('./clickplanet.ts', import.meta.url)), onlyFanOut = false): Promise<void> {
  const nats = await NatsServer.start({ jetstream: true })
  const redis = await RedisServer.start()
  try {
    const env = { NATS_URL: nats.url, REDIS_URL: redis.url }
    if (!onlyFanOut) {
      await ingest(row, entry, env, map.tileCount)
      await catchUp(row, nats, redis, map)
    }
    await fanOut2(row, entry, env)
  } finally {
    await Promise.allSettled([nats.stop(), redis.stop()])
  }
}
