/**
 * Cross-node party load and failover, side by side with one node, in one run.
 *
 * Party load: R rooms, each host on node 1 with P players, broadcasting B times a second;
 * every player answers A times a second. Run twice: on one node (no NATS, no Redis) and on
 * a cluster of 3 node processes + nats-server + redis-server with the players on nodes 2
 * and 3. Reported: server CPU per delivered frame, summed over every server process
 * (nodes, nats-server, redis-server), the ratio cluster / one node, the latency of a
 * host's broadcast to its players (p50, p99), and bus messages per host broadcast.
 *
 * Failover: K rooms on node 1, kill -9 node 1, time from the kill to each room's
 * `rooms.moved` on NATS (p50, p95), against the lease (goal: lease + 1 s). Two rounds.
 *
 * `npm run bench:cluster` (bounded: well under 3 minutes).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Decoder, Encoder } from 'cbor-x'
import { connect } from 'nats'
import WebSocket from 'ws'
import { LatencyHistogram } from '../../src/flood/latency-histogram.js'
import { sampleProcess } from '../../src/flood/proc-sample.js'
import { NatsServer } from '../../src/launchers/nats-server.js'
import { PartylineNode } from '../../src/launchers/partyline-node.js'
import { RedisServer } from '../../src/launchers/redis-server.js'
import { freePort } from '../../src/launchers/spawned-server.js'

const ROOMS = 10
const PLAYERS = 8
const BROADCASTS_PER_SECOND = 20
const ANSWERS_PER_SECOND = 5
const LOAD_MS = 10_000
const IDLE_MS = 3000
const FAILOVER_ROOMS = 50
const LEASE_MS = 2000

const cbor = { useRecords: false, tagUint8Array: false, mapsAsObjects: true } as const
const encoder = new Encoder(cbor)
const decoder = new Decoder(cbor)
/**
 * `BENCH_CPU_PROF=<dir>`: every node writes a V8 CPU profile there at exit (`npx tsx
 * bench/src/profile-top.ts` reads it). The failover part is then left out: a node killed
 * with -9 writes no profile, and node 1 (the owner, the busiest) would lose its own.
 */
const profileDir = process.env.BENCH_CPU_PROF
const command = {
  file: process.execPath,
  args: [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), '--import=tsx', fileURLToPath(new URL('../../src/main.ts', import.meta.url))],
}

type Msg = Record<string, unknown> & { cmd: string }

/**
 * CPU time a process has had so far, in seconds: the sum over its threads of the time on CPU
 * that the scheduler counted in ns (`/proc/<pid>/task/<tid>/schedstat`), which tells apart
 * processes that each run for a few µs at a time. utime + stime (`/proc/<pid>/stat`) count
 * 10 ms ticks instead, charged to whichever process runs when a tick lands: a node woken by
 * its timers runs at tick time and is overcharged, idle ones most. Falls back to that when
 * schedstat is not there.
 */
function cpuSample(pid: number): { at: number; cpuSeconds: number } {
  const at = performance.now()
  let ns = 0
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ', 1)[0])
      } catch {
        // the thread ended just now (its time is lost: a short-lived thread's few µs)
      }
    }
  } catch {
    ns = 0
  }
  return Number.isFinite(ns) && ns > 0 ? { at, cpuSeconds: ns / 1e9 } : { at, cpuSeconds: sampleProcess(pid).cpuSeconds }
}

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
  })
}

/** A host on `node` with a room; resolves with its code once the room is prepared. */
async function host(node: { ws: string }, maxPlayers: number): Promise<{ ws: WebSocket; key: string; joined: () => number }> {
  const ws = await open(`${node.ws}/CREATE`)
  let joined = 0
  const key = await new Promise<string>((resolve) => {
    ws.on('message', (data: Buffer) => {
      const m = decoder.decode(data) as Msg
      if (m.cmd === 'prepare_reply') resolve(String(m.key))
      else if (m.cmd === 'player_joined') joined++
    })
    ws.send(encoder.encode({ cmd: 'prepare', max_players: maxPlayers }))
  })
  return { ws, key, joined: () => joined }
}

async function until(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

interface LoadResult {
  readonly setup: string
  readonly delivered: number
  readonly cpuSeconds: number
  /** CPU seconds the same processes would have spent idle over the load's duration (connections open, no traffic). */
  readonly idlePerSecond: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly busPerBroadcast: number | undefined
  /** Bus messages the player nodes sent per player answer. */
  readonly busPerAnswer: number | undefined
  /** CPU seconds of each process, in the order of `pids()`. */
  readonly perProcess: number[]
  /** Idle CPU seconds of each process over the load's duration, in the same order. */
  readonly perProcessIdle: number[]
}

async function metric(node: { url: string }, line: RegExp): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text()
  const m = line.exec(text)
  return m ? Number(m[1]) : 0
}

/** The party load: hosts on `hostNode`, players spread over `playerNodes`; CPU of `pids`. */
async function partyLoad(setup: string, hostNode: { ws: string; url: string }, playerNodes: readonly { ws: string; url: string }[], pids: () => number[]): Promise<LoadResult> {
  const latency = new LatencyHistogram()
  let delivered = 0
  const hosts = await Promise.all(Array.from({ length: ROOMS }, () => host(hostNode, PLAYERS)))
  const players: WebSocket[] = []
  for (const h of hosts) {
    for (let i = 0; i < PLAYERS; i++) {
      const p = await open(`${playerNodes[i % playerNodes.length]!.ws}/${h.key}`)
      p.on('message', (data: Buffer) => {
        delivered++
        const sent = data.readDoubleLE(0)
        latency.record((performance.now() - sent) * 1000)
      })
      players.push(p)
    }
    h.ws.on('message', (data: Buffer) => {
      const m = decoder.decode(data) as Msg
      if (m.cmd === 'from') delivered++
    })
  }
  await until(() => hosts.every((h) => h.joined() === PLAYERS), 'every player joined')
  // What the processes spend idle (leases, failover rounds, heartbeats), to set apart from the load.
  const idleFrom = pids().map(cpuSample)
  await new Promise((r) => setTimeout(r, IDLE_MS))
  const idleTo = pids().map(cpuSample)
  const idleOf = idleTo.map((s, i) => (s.cpuSeconds - idleFrom[i]!.cpuSeconds) / (IDLE_MS / 1000))
  const idlePerSecond = idleOf.reduce((a, b) => a + b, 0)
  const busOut = /^partyline_bus_messages_total\{direction="out"\} (\d+)/m
  const edges = playerNodes.filter((n) => n !== hostNode)
  const edgeBus = async () => (await Promise.all(edges.map((n) => metric(n, busOut)))).reduce((a, b) => a + b, 0)
  const busBefore = await metric(hostNode, busOut)
  const edgeBusBefore = await edgeBus()
  const before = pids().map(cpuSample)
  let broadcasts = 0
  const frame = Buffer.alloc(64)
  const tick = setInterval(() => {
    for (const h of hosts) {
      frame.writeDoubleLE(performance.now(), 0)
      h.ws.send(encoder.encode({ cmd: 'to', data: frame }))
      broadcasts++
    }
  }, 1000 / BROADCASTS_PER_SECOND)
  const answer = Buffer.alloc(32)
  let answered = 0
  const answers = setInterval(() => {
    for (const p of players) p.send(answer)
    answered += players.length
  }, 1000 / ANSWERS_PER_SECOND)
  await new Promise((r) => setTimeout(r, LOAD_MS))
  clearInterval(tick)
  clearInterval(answers)
  await new Promise((r) => setTimeout(r, 300))
  const after = pids().map(cpuSample)
  const loadSeconds = (after[0]!.at - before[0]!.at) / 1000
  const busAfter = await metric(hostNode, busOut)
  const edgeBusAfter = await edgeBus()
  for (const p of players) p.terminate()
  for (const h of hosts) h.ws.terminate()
  const cpuSeconds = after.reduce((sum, s, i) => sum + s.cpuSeconds - before[i]!.cpuSeconds, 0)
  return {
    setup,
    delivered,
    cpuSeconds,
    idlePerSecond: idlePerSecond * loadSeconds,
    p50Ms: latency.quantileUs(0.5) / 1000,
    p99Ms: latency.quantileUs(0.99) / 1000,
    busPerBroadcast: edges.length > 0 ? (busAfter - busBefore) / broadcasts : undefined,
    busPerAnswer: edges.length > 0 ? (edgeBusAfter - edgeBusBefore) / answered : undefined,
    perProcess: after.map((s, i) => s.cpuSeconds - before[i]!.cpuSeconds),
    perProcessIdle: idleOf.map((x) => x * loadSeconds),
  }
}

/** Times from a kill -9 of the owner to each room's adoption (`rooms.moved` on NATS). */
async function failover(nats: NatsServer, nodes: PartylineNode[], rounds: number): Promise<number[]> {
  const nc = await connect({ servers: nats.url })
  const moved = new Map<string, number>()
  const sub = nc.subscribe('partyline.rooms.moved', {
    callback: (_err, msg) => {
      const [code] = decoder.decode(msg.data) as [string]
      if (!moved.has(code)) moved.set(code, performance.now())
    },
  })
  const times: number[] = []
  for (let round = 0; round < rounds; round++) {
    const owner = nodes[0]!
    const hosts = await Promise.all(Array.from({ length: FAILOVER_ROOMS }, () => host(owner, 4)))
    // Every room's record is in the store (another node's lookup reads it) before the kill.
    for (const h of hosts) {
      const deadline = Date.now() + 10_000
      while ((await fetch(`${nodes[1]!.url}/api/rooms/${h.key}`)).status !== 200) {
        if (Date.now() > deadline) throw new Error(`room ${h.key} has no record`)
        await new Promise((r) => setTimeout(r, 10))
      }
    }
    moved.clear()
    const killedAt = performance.now()
    await owner.kill('SIGKILL')
    await until(() => hosts.every((h) => moved.has(h.key)), 'every room adopted', 30_000)
    for (const h of hosts) times.push(moved.get(h.key)! - killedAt)
    for (const h of hosts) h.ws.terminate()
    await owner.restart()
  }
  sub.unsubscribe()
  await nc.close()
  return times
}

const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

async function main(): Promise<void> {
  const parentDir = await mkdtemp(join(tmpdir(), 'partyline-bench-cluster-'))
  const started: { stop(): Promise<void> }[] = []
  try {
    const env = { PARTYLINE_CLICKPLANET: 'false', PARTYLINE_LOG_LEVEL: 'warn', PARTYLINE_JOIN_ATTEMPTS_PER_MINUTE: '100000', PARTYLINE_ROOMS_PER_MINUTE: '100000', PARTYLINE_HOSTS_PER_ADDRESS: '1000', PARTYLINE_PLAYERS_PER_ADDRESS: '1000' }
    const single = await PartylineNode.start({ id: 'single', port: await freePort(), parentDir, command, env })
    started.push(single)
    const one = await partyLoad('one node', single, [single], () => [single.pid!])
    await single.stop()

    const [nats, redis] = await Promise.all([NatsServer.start(), RedisServer.start()])
    started.push(nats, redis)
    const clusterEnv = { ...env, REDIS_URL: redis.url, NATS_URL: nats.url, PARTYLINE_NODE_LEASE_MS: String(LEASE_MS) }
    const nodes: PartylineNode[] = []
    for (let i = 1; i <= 3; i++) {
      const node = await PartylineNode.create({ id: `bench${i}`, port: await freePort(), parentDir, command, env: clusterEnv })
      started.push(node)
      nodes.push(node)
    }
    await Promise.all(nodes.map((n) => n.restart()))
    const pids = () => [...nodes.map((n) => n.pid!), nats.pid!, redis.pid!]
    const three = await partyLoad('3 nodes (host on 1, players on 2 and 3)', nodes[0]!, [nodes[1]!, nodes[2]!], pids)
    const failoverMs = profileDir ? [] : await failover(nats, nodes, 2)

    const perFrame = (r: LoadResult) => (r.cpuSeconds * 1e6) / r.delivered
    console.log(`\nParty load: ${ROOMS} rooms × ${PLAYERS} players, ${BROADCASTS_PER_SECOND} broadcasts/s per host, ${ANSWERS_PER_SECOND} answers/s per player, ${LOAD_MS / 1000} s\n`)
    const loadPerFrame = (r: LoadResult) => ((r.cpuSeconds - r.idlePerSecond) * 1e6) / r.delivered
    console.log('| setup | frames delivered | server CPU s (all processes) | of it idle | CPU µs per frame | without idle | broadcast p50 ms | p99 ms | bus messages per broadcast | per answer |')
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
    for (const r of [one, three]) {
      console.log(`| ${r.setup} | ${r.delivered} | ${r.cpuSeconds.toFixed(2)} | ${r.idlePerSecond.toFixed(2)} | ${perFrame(r).toFixed(1)} | ${loadPerFrame(r).toFixed(1)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.busPerBroadcast === undefined ? '–' : r.busPerBroadcast.toFixed(2)} | ${r.busPerAnswer === undefined ? '–' : r.busPerAnswer.toFixed(2)} |`)
    }
    const byProcess = (v: number[]) => ['node 1', 'node 2', 'node 3', 'nats-server', 'redis-server'].map((name, i) => `${name} ${v[i]!.toFixed(2)}`).join(', ')
    console.log(`\nCPU seconds by process (cluster): ${byProcess(three.perProcess)}; of it idle: ${byProcess(three.perProcessIdle)}`)
    console.log(`\nCPU per delivered frame, cluster / one node: ${(perFrame(three) / perFrame(one)).toFixed(2)}× (goal ≤ 2×); without the idle part: ${(loadPerFrame(three) / loadPerFrame(one)).toFixed(2)}×`)
    if (failoverMs.length === 0) return
    console.log(`\nFailover: ${failoverMs.length} rooms over 2 kills -9 of their owner, lease ${LEASE_MS} ms (goal ≤ ${LEASE_MS + 1000} ms)\n`)
    console.log('| kill -9 → rooms adopted | p50 ms | p95 ms | max ms |')
    console.log('| --- | ---: | ---: | ---: |')
    console.log(`| ${failoverMs.length} rooms | ${quantile(failoverMs, 0.5).toFixed(0)} | ${quantile(failoverMs, 0.95).toFixed(0)} | ${Math.max(...failoverMs).toFixed(0)} |`)
  } finally {
    for (const s of started.reverse()) await s.stop().catch(() => {})
    await rm(parentDir, { recursive: true, force: true })
  }
}

await main()
